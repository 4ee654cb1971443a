// Browser client at rest and for everyone: IndexedDB holds no plaintext (a canary message
// and the username are searched for in the raw records), the vault opens only with the
// password and brings the history back; burn-on-read wipes local copies; axe-core finds
// no serious or critical problems on the main screens, in light and dark, wide and narrow.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { defaultSecurityGroup, updateSecurityGroupSettings } from "../../src/modules/security-groups/security-groups.service.ts";
import { accessibilityProblems, screenshot } from "../support/browser.ts";
import { PASSWORD, pageErrors, startHarness, type Harness, log, convButton, send } from "./harness.ts";

let h: Harness;
let alice: Page;
let bob: Page;
beforeAll(async () => {
  h = await startHarness(["alice", "bob", "carol"]);
  alice = await h.onboard("alice", "file");
  bob = await h.onboard("bob", "file");
}, 60_000);
afterAll(async () => {
  await h?.close();
});


/** Every IndexedDB record of the page's origin, as the bytes a disk would hold (latin1 of buffers, JSON of the rest). */
async function rawIndexedDb(p: Page): Promise<{ names: string[]; dump: string }> {
  return p.evaluate(async () => {
    const dbs = await indexedDB.databases();
    const out: string[] = [];
    const names: string[] = [];
    const flat = (v: unknown): string => {
      if (v instanceof ArrayBuffer) return String.fromCharCode(...new Uint8Array(v));
      if (ArrayBuffer.isView(v)) return String.fromCharCode(...new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      if (v && typeof v === "object") return Object.entries(v).map(([k, x]) => `${k}:${flat(x)}`).join("|");
      return String(v);
    };
    for (const info of dbs) {
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open(info.name!);
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      for (const store of Array.from(db.objectStoreNames)) {
        const tx = db.transaction(store);
        const [keys, values] = await Promise.all(
          [tx.objectStore(store).getAllKeys(), tx.objectStore(store).getAll()].map((r) => new Promise<unknown[]>((res) => (r.onsuccess = () => res(r.result as unknown[])))),
        );
        keys!.forEach((k, i) => {
          names.push(`${info.name}/${store}/${String(k)}`);
          out.push(flat(values![i]));
        });
      }
      db.close();
    }
    return { names, dump: out.join("\n") };
  });
}

describe("local storage", () => {
  test("IndexedDB holds no plaintext; the vault opens only with the password and restores the history", async () => {
    const canary = `canary-${crypto.randomUUID()}`;
    await alice.getByRole("button", { name: "New message" }).click();
    await alice.getByRole("dialog").getByLabel("Username").fill("bob");
    await alice.getByRole("dialog").getByRole("button", { name: "Open" }).click();
    await send(alice, `${canary} https://example.org/x`);
    await log(alice).getByText("Sent").waitFor();
    await convButton(bob, /alice/).click();
    await log(bob).getByText(canary).waitFor();
    await alice.waitForTimeout(600); // the vault is written 250 ms after a change

    for (const p of [alice, bob]) {
      const { names, dump } = await rawIndexedDb(p);
      expect(names).toEqual(expect.arrayContaining(["outpost/vault/meta", "outpost/vault/device", "outpost/vault/data"]));
      expect(dump.length).toBeGreaterThan(1000);
      for (const secret of [canary, canary.slice(7, 20), "example.org", PASSWORD, "rootPrivate", "devicePrivate", h.world.users.get("bob")!.id]) {
        expect(dump.includes(secret), `${secret} found in IndexedDB`).toBe(false);
      }
    }

    // Link previews are on by default (a preview shows the link's own host; nothing is fetched).
    expect(await log(bob).locator(".msg", { hasText: canary }).locator(".preview").count()).toBe(1);
    // The security group turns previews off and adds quick responses: the client follows.
    const group = defaultSecurityGroup(h.world.server.ctx, h.world.networkId);
    await updateSecurityGroupSettings(h.world.server.ctx, h.world.networkId, group.id, { ...group.settings, messaging: { ...group.settings.messaging, linkPreviews: false, quickResponses: ["On my way"] } });

    // A reload asks for the password; a wrong one is refused; the right one brings the history back.
    await bob.reload();
    await bob.getByRole("heading", { name: "Unlock Outpost" }).waitFor();
    expect(await accessibilityProblems(bob)).toEqual([]);
    await bob.getByLabel("Password").fill("not-the-password");
    await bob.getByRole("button", { name: "Unlock" }).click();
    await bob.getByRole("alert").filter({ hasText: "does not open" }).waitFor();
    await bob.getByLabel("Password").fill(PASSWORD);
    await bob.getByRole("button", { name: "Unlock" }).click();
    await bob.getByRole("status").filter({ hasText: "Connected" }).waitFor();
    await convButton(bob, /alice/).click();
    await log(bob).getByText(canary).waitFor();
    // A second tab of the same browser cannot run the same device at the same time.
    const tab = await bob.context().newPage();
    await tab.goto(h.world.server.url + "/");
    await tab.getByLabel("Password").fill(PASSWORD);
    await tab.getByRole("button", { name: "Unlock" }).click();
    await tab.getByRole("alert").filter({ hasText: "already open in another tab" }).waitFor();
    await tab.close();
    // Still one copy after the relay's redelivery from the saved cursor.
    expect(await log(bob).getByText(canary).count()).toBe(1);
    expect(await log(bob).locator(".msg", { hasText: canary }).getByRole("link", { name: "https://example.org/x" }).count()).toBe(1);
    expect(await log(bob).locator(".preview").count()).toBe(0);
    await bob.getByRole("group", { name: "Quick responses" }).getByRole("button", { name: "On my way" }).click();
    await log(alice).getByText("On my way").waitFor();
    expect(pageErrors(bob)).toEqual([]);
  });

  test("burn-on-read removes the message from the reader's screen and vault", async () => {
    await convButton(alice, /bob/).click();
    await alice.getByRole("button", { name: "Timers" }).click();
    await alice.getByRole("dialog").getByLabel("Burn after reading").selectOption("10");
    await alice.getByRole("dialog").getByRole("button", { name: "Save" }).click();
    await alice.getByText("burns 10 s after reading").waitFor();
    await alice.getByRole("dialog").getByRole("button", { name: "Close" }).click();
    const burn = `burn-${crypto.randomUUID()}`;
    await send(alice, burn);
    // Bob has the conversation open: the message is read at once and its clock starts.
    await log(bob).locator(".msg", { hasText: burn }).getByText(/burns in/).waitFor();
    await log(bob).getByText(burn).waitFor({ state: "detached", timeout: 15_000 });
    await bob.waitForTimeout(600);
    await bob.reload();
    await bob.getByLabel("Password").fill(PASSWORD);
    await bob.getByRole("button", { name: "Unlock" }).click();
    await convButton(bob, /alice/).click();
    await log(bob).getByText(/canary-/).waitFor();
    expect(await log(bob).getByText(burn).count()).toBe(0);
  }, 40_000);
});

describe("accessibility", () => {
  test("axe-core finds no serious or critical violations on the main screens (light, dark, narrow)", async () => {
    const problems: string[] = [];
    const check = async (p: Page, screen: string) => {
      for (const v of await accessibilityProblems(p)) problems.push(`${screen}: ${v}`);
      await screenshot(p, "web-client", screen);
    };
    const { page: fresh } = await h.open();
    await fresh.getByLabel("Client configuration file").waitFor();
    await check(fresh, "onboarding");
    await fresh.getByLabel("Client configuration file").setInputFiles({ name: "c.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(h.config)) });
    await fresh.getByLabel("Username").waitFor();
    await check(fresh, "sign-in");

    await alice.getByRole("button", { name: "New room" }).click();
    await check(alice, "new-room-dialog");
    const d = alice.getByRole("dialog");
    await d.getByLabel("Title").fill("Accessible room");
    await d.getByLabel(/Members/).fill("bob carol");
    await d.getByRole("button", { name: "Create" }).click();
    await alice.getByRole("heading", { level: 1, name: "Accessible room" }).waitFor();
    await send(alice, "a message with https://example.org/a-link");
    await log(alice).getByText("Sent").waitFor();
    await check(alice, "room");
    await alice.getByRole("button", { name: "Details" }).click();
    await check(alice, "room-details");
    await alice.getByRole("dialog").getByRole("button", { name: "Close" }).click();

    await convButton(alice, /bob/).click();
    await alice.getByRole("button", { name: "Verify" }).click();
    await alice.getByTestId("safety-number").waitFor();
    await alice.getByRole("img", { name: /QR code/ }).waitFor();
    await check(alice, "verify");
    await alice.getByRole("dialog").getByRole("button", { name: "Close" }).click();
    await alice.getByRole("button", { name: "Settings" }).click();
    await check(alice, "settings");
    await alice.getByRole("dialog").getByRole("button", { name: "Close" }).click();

    await alice.emulateMedia({ colorScheme: "dark" });
    await check(alice, "dm-dark");
    await alice.setViewportSize({ width: 375, height: 740 });
    await check(alice, "dm-narrow-dark");
    // Narrow: the open conversation fills the screen and leads back to the list.
    expect(await alice.getByRole("navigation", { name: "Conversations" }).isVisible()).toBe(false);
    await alice.getByRole("button", { name: "← Conversations" }).click();
    await alice.getByRole("navigation", { name: "Conversations" }).waitFor();
    await check(alice, "list-narrow-dark");
    await alice.emulateMedia({ colorScheme: "light" });
    await check(alice, "list-narrow-light");
    await alice.setViewportSize({ width: 1200, height: 800 });
    expect(problems).toEqual([]);
  }, 60_000);

  test("safety numbers agree on both sides and the keyboard reaches the composer", async () => {
    const numberOf = async (p: Page, other: string) => {
      await convButton(p, new RegExp(other)).click();
      await p.getByRole("button", { name: "Verify" }).click();
      const n = (await p.getByTestId("safety-number").textContent())!.replace(/\s/g, "");
      await p.getByRole("dialog").getByRole("button", { name: "Close" }).click();
      return n;
    };
    const a = await numberOf(alice, "bob");
    const b = await numberOf(bob, "alice");
    expect(a).toMatch(/^\d{60}$/);
    expect(a).toBe(b);
    // Keyboard only: Tab moves focus to the message field eventually, Enter sends.
    await alice.getByRole("button", { name: "Verify" }).focus();
    for (let i = 0; i < 40; i++) {
      if (await alice.evaluate(() => document.activeElement?.getAttribute("name") === "message")) break;
      await alice.keyboard.press("Tab");
    }
    expect(await alice.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("message");
    await alice.keyboard.type("typed with the keyboard");
    await alice.keyboard.press("Enter");
    await log(bob).getByText("typed with the keyboard").waitFor();
  });

  test("changing the password re-encrypts the vault: only the new one unlocks it", async () => {
    const next = "Fresh-Battery-77";
    await bob.getByRole("button", { name: "Settings" }).click();
    const d = bob.getByRole("dialog");
    await d.getByLabel("Current password").fill(PASSWORD);
    await d.getByLabel("New password", { exact: true }).fill(next);
    await d.getByLabel("New password again").fill("something else");
    await d.getByRole("button", { name: "Change password" }).click();
    await d.getByRole("alert").filter({ hasText: "differ" }).waitFor();
    await d.getByLabel("New password again").fill(next);
    await d.getByRole("button", { name: "Change password" }).click();
    await d.getByText("Password changed.").waitFor();
    await d.getByRole("button", { name: "Close" }).click();
    await bob.getByRole("button", { name: "Lock" }).click();
    await bob.getByLabel("Password").fill(PASSWORD);
    await bob.getByRole("button", { name: "Unlock" }).click();
    await bob.getByRole("alert").filter({ hasText: "does not open" }).waitFor();
    await bob.getByLabel("Password").fill(next);
    await bob.getByRole("button", { name: "Unlock" }).click();
    await bob.getByRole("status").filter({ hasText: "Connected" }).waitFor();
    await convButton(bob, /alice/).click();
    await log(bob).getByText(/canary-/).waitFor();
    expect(pageErrors(bob)).toEqual([]);
  });
});

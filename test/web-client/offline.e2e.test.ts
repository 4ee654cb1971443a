// The browser client with its server gone: after a restart of the browser while the box is
// unreachable, the page comes from the service worker, the password opens the vault (a wrong
// one is still refused), the history shows with an "Offline — reconnecting" status, a message
// typed meanwhile waits as not sent (kept across another restart); when the server is back
// the client reconnects by itself, the waiting message goes out and what arrived while it was
// away is delivered.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { OutpostClient } from "../../src/client/client.ts";
import type { ReceivedMessage } from "../../src/client/messages.ts";
import { inbox, until } from "../messaging/world.ts";
import { screenshot } from "../support/browser.ts";
import { PASSWORD, pageErrors, startHarness, type Harness, log, convButton } from "./harness.ts";

let h: Harness;
let alice: Page;
/** The page after the browser restart (the first test opens it; the second reuses it). */
let page: Page;
let bob: OutpostClient;
let bobInbox: ReceivedMessage[];
beforeAll(async () => {
  h = await startHarness(["alice", "bob"]);
  alice = await h.onboard("alice", "file");
  bob = await h.world.client("bob");
  bobInbox = inbox(bob);
}, 60_000);
afterAll(async () => {
  await h?.world.server.restart().catch(() => undefined); // if a failure left it halted
  await h?.close();
});

const texts = () => bobInbox.map((m) => (m.content as { text?: string } | null)?.text);

describe("offline", () => {
  test("unlocks offline after a restart, queues a send, and reconnects by itself when the server is back", async () => {
    // A conversation with history in both directions.
    await alice.getByRole("button", { name: "New message" }).click();
    await alice.getByRole("dialog").getByLabel("Username").fill("bob");
    await alice.getByRole("dialog").getByRole("button", { name: "Open" }).click();
    await alice.getByRole("heading", { level: 1, name: "bob" }).waitFor();
    await alice.getByLabel("Message", { exact: true }).fill("before the outage, from alice");
    await alice.getByRole("button", { name: "Send", exact: true }).click();
    await until(() => texts().includes("before the outage, from alice"), "bob receives alice's message", 15_000);
    const dm = await bob.openDirect({ username: "alice" });
    await bob.sendText(dm.id, "before the outage, from bob");
    await log(alice).getByText("before the outage, from bob").waitFor();
    // The shell is cached and the vault saved before the browser goes away.
    await alice.evaluate(async () => {
      await navigator.serviceWorker.ready;
      for (let i = 0; i < 100 && (await caches.keys()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    });
    await alice.waitForTimeout(400); // the vault is written 250 ms after the last change
    const context = alice.context();
    await alice.close();

    // While the browser is away, bob writes; then the box goes down.
    await bob.sendText(dm.id, "sent while alice was away");
    await h.world.server.halt();
    expect(await fetch(h.world.server.url + "/readyz").then(() => "up", () => "down")).toBe("down");

    // The browser starts again with the server unreachable: the page comes from the service worker.
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(h.world.server.url + "/");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("alert").filter({ hasText: "does not open this device's vault" }).waitFor();
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("status").filter({ hasText: "Offline — reconnecting" }).waitFor();
    await convButton(page, /bob/).click();
    await log(page).getByText("before the outage, from alice").waitFor();
    await log(page).getByText("before the outage, from bob").waitFor();
    expect(await log(page).getByText("sent while alice was away").count()).toBe(0);

    // A message typed offline waits, marked as not sent, instead of being lost.
    await page.getByLabel("Message", { exact: true }).fill("typed while offline");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    const waiting = log(page).locator(".msg.mine", { hasText: "typed while offline" });
    await waiting.getByText(/Not sent: offline/).waitFor();
    await screenshot(page, "web-client", "offline");
    // It is kept in the vault: another restart, still offline, still has it waiting.
    await page.waitForTimeout(400);
    await page.reload();
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Unlock" }).click();
    await convButton(page, /bob/).click();
    await waiting.getByText(/Not sent: offline/).waitFor();

    // The server comes back: no user action, the browser reconnects, sends and receives.
    await h.world.server.restart();
    await page.getByRole("status").filter({ hasText: "Connected" }).waitFor({ timeout: 30_000 });
    await log(page).getByText("sent while alice was away").waitFor();
    await until(() => texts().includes("typed while offline"), "bob receives the message typed offline", 30_000);
    await waiting.getByText(/^(Sent|Read)$/).waitFor();
    expect(texts().filter((t) => t === "typed while offline")).toHaveLength(1);
    // And the connection works both ways as before.
    await bob.sendText(dm.id, "welcome back");
    await log(page).getByText("welcome back").waitFor();
    expect(errors).toEqual([]);
    expect(pageErrors(alice)).toEqual([]);
  }, 120_000);

  test("a box that accepts connections but never answers: the cached page opens after a short wait, and the client still reconnects", async () => {
    const dm = await bob.openDirect({ username: "alice" });
    await page.waitForTimeout(400);
    await h.world.server.halt();
    const port = Number(new URL(h.world.server.url).port);
    // A black hole on the server's address: connections are accepted, nothing is ever answered.
    const hole = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {}, open() {} } });
    try {
      await page.reload({ timeout: 20_000 });
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Unlock" }).click();
      await page.getByRole("status").filter({ hasText: "Offline — reconnecting" }).waitFor();
      await convButton(page, /bob/).click();
      await log(page).getByText("welcome back").waitFor();
    } finally {
      hole.stop(true);
    }
    await h.world.server.restart();
    await page.getByRole("status").filter({ hasText: "Connected" }).waitFor({ timeout: 30_000 });
    await bob.sendText(dm.id, "after the silent outage");
    await log(page).getByText("after the silent outage").waitFor();
  }, 90_000);
});

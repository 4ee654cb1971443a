// Security-group settings the browser client enforces itself, set through the real service
// and delivered in the device policy: choosing one's own password after the first sign-in
// (and its complexity rule), a group that forbids it, re-authentication when the app comes
// back to the foreground, erasing the device after too many wrong unlock passwords, the
// attachment switch and upload limit, and notifications with or without message previews.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { defaultSecurityGroup, updateSecurityGroupSettings } from "../../src/modules/security-groups/security-groups.service.ts";
import type { SecurityGroupSettings } from "../../src/modules/security-groups/settings.ts";
import { files } from "../../src/client/files.ts";
import { accessibilityProblems, screenshot } from "../support/browser.ts";
import { convButton, PASSWORD, pageErrors, startHarness, type Harness } from "./harness.ts";

let h: Harness;
let original: SecurityGroupSettings;

async function setSecurity(patch: Partial<SecurityGroupSettings["security"]>) {
  const ctx = h.world.server.ctx;
  const group = defaultSecurityGroup(ctx, h.world.networkId);
  await updateSecurityGroupSettings(ctx, h.world.networkId, group.id, { ...group.settings, security: { ...group.settings.security, ...patch } });
}

/** Whether a password signs this user in on the server (step 1 of registering a device). */
async function signsIn(username: string, password: string): Promise<boolean> {
  const r = await fetch(`${h.world.server.url}/api/client/v1/sign-in`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ networkId: h.world.networkId, username, password }) });
  return r.status === 200;
}

async function relock(page: Page) {
  await page.getByRole("button", { name: "Lock" }).click();
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Unlock" }).click();
  await page.getByRole("status").filter({ hasText: "Connected" }).waitFor();
}

/**
 * Headless Chromium always reports its pages as visible (no window to hide), so the test plays
 * the browser's part: the page becomes hidden, then visible again, with the real event.
 */
async function setVisibility(page: Page, state: "hidden" | "visible") {
  await page.evaluate((s) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => s });
    document.dispatchEvent(new Event("visibilitychange"));
  }, state);
}

async function backgroundAndReturn(page: Page) {
  await setVisibility(page, "hidden");
  await setVisibility(page, "visible");
}

beforeAll(async () => {
  h = await startHarness(["carol", "dave", "erin", "frank", "gina", "hank", "ivy", "jack"]);
  original = defaultSecurityGroup(h.world.server.ctx, h.world.networkId).settings;
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe("password choice", () => {
  test("after a first sign-in the user may choose a password meeting the group's rule; the server and the vault take it", async () => {
    const page = await h.onboard("carol");
    const offer = page.getByRole("region", { name: "Your password" });
    await offer.getByRole("button", { name: "Choose your own" }).click();
    const d = page.getByRole("dialog", { name: "Your password" });
    await d.getByText("At least 10 characters, with a lower-case letter, an upper-case letter, a digit.").waitFor();
    expect(await d.getByLabel("Current password").count()).toBe(0);
    // Checked in the browser first, with the server's own rule.
    await d.getByLabel("New password", { exact: true }).fill("short");
    await d.getByLabel("New password again").fill("short");
    await d.getByRole("button", { name: "Use this password" }).click();
    await d.getByRole("alert").filter({ hasText: "must be at least 10 characters" }).waitFor();
    await d.getByLabel("New password", { exact: true }).fill("alllowercase-123");
    await d.getByRole("button", { name: "Use this password" }).click();
    await d.getByRole("alert").filter({ hasText: "must contain an upper-case letter" }).waitFor();
    expect(await signsIn("carol", PASSWORD)).toBe(true);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, "web-client", "choose-password");

    const mine = "Carols-Own-Pass-42";
    await d.getByLabel("New password", { exact: true }).fill(mine);
    await d.getByLabel("New password again").fill(mine);
    await d.getByRole("button", { name: "Use this password" }).click();
    await d.waitFor({ state: "detached" });
    await page.getByRole("alert").filter({ hasText: "Your password was changed" }).waitFor();
    expect(await offer.count()).toBe(0);
    expect(await signsIn("carol", mine)).toBe(true);
    expect(await signsIn("carol", PASSWORD)).toBe(false);
    // The vault follows: only the new password unlocks this browser.
    await page.getByRole("button", { name: "Lock" }).click();
    await page.getByLabel("Password").fill(mine);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("status").filter({ hasText: "Connected" }).waitFor();
    expect(pageErrors(page)).toEqual([]);
  });

  test("a group that forbids changing passwords: no offer, and settings say why", async () => {
    await setSecurity({ userCanChangePassword: false });
    try {
      const page = await h.onboard("dave");
      await page.getByRole("button", { name: "Settings" }).click();
      const d = page.getByRole("dialog");
      await d.getByText("Your security group does not let you change your password.").waitFor();
      expect(await d.getByLabel("New password", { exact: true }).count()).toBe(0);
      expect(await page.getByRole("region", { name: "Your password" }).count()).toBe(0);
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await updateSecurityGroupSettings(h.world.server.ctx, h.world.networkId, defaultSecurityGroup(h.world.server.ctx, h.world.networkId).id, original);
    }
  });
});

describe("device protection", () => {
  test("with re-authentication on, coming back to the app asks for the password again", async () => {
    const page = await h.onboard("erin");
    // Off (the default): going away and back changes nothing.
    await backgroundAndReturn(page);
    await page.getByRole("status").filter({ hasText: "Connected" }).waitFor();
    expect(await page.getByRole("heading", { name: "Unlock Outpost" }).count()).toBe(0);

    await setSecurity({ alwaysReauthenticate: true });
    try {
      // The policy reaches a connected client when it reconnects or re-reads it; a lock and unlock does both.
      await page.getByRole("button", { name: "Lock" }).click();
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Unlock" }).click();
      await page.getByRole("status").filter({ hasText: "Connected" }).waitFor();
      await backgroundAndReturn(page);
      await page.getByRole("heading", { name: "Unlock Outpost" }).waitFor();
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Unlock" }).click();
      await page.getByRole("status").filter({ hasText: "Connected" }).waitFor();
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await setSecurity({ alwaysReauthenticate: false });
    }
  });

  test("too many wrong unlock passwords erase this browser's keys and history, as the group says", async () => {
    await setSecurity({ deviceResetAfter: 3 });
    try {
      const page = await h.onboard("frank");
      await page.getByRole("button", { name: "Lock" }).click();
      const tryPassword = async (p: string) => {
        await page.getByLabel("Password").fill(p);
        await page.getByRole("button", { name: "Unlock" }).click();
      };
      await tryPassword("wrong-1");
      await page.getByRole("alert").filter({ hasText: "2 more wrong tries erase" }).waitFor();
      // A right password in between starts the count again.
      await tryPassword(PASSWORD);
      await page.getByRole("status").filter({ hasText: "Connected" }).waitFor();
      await page.getByRole("button", { name: "Lock" }).click();
      await tryPassword("wrong-1");
      await page.getByRole("alert").filter({ hasText: "2 more wrong tries erase" }).waitFor();
      await tryPassword("wrong-2");
      await page.getByRole("alert").filter({ hasText: "1 more wrong try erases" }).waitFor();
      await tryPassword("wrong-3");
      await page.getByRole("alert").filter({ hasText: "3 wrong passwords in a row" }).waitFor();
      await page.getByRole("heading", { name: "Open your client configuration" }).waitFor();
      await screenshot(page, "web-client", "device-erased");
      expect(await accessibilityProblems(page)).toEqual([]);
      // Nothing of the vault is left in IndexedDB.
      const left = await page.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const r = indexedDB.open("outpost");
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
        const names = [...db.objectStoreNames];
        let count = 0;
        for (const n of names) count += await new Promise<number>((resolve) => {
          const r = db.transaction(n).objectStore(n).count();
          r.onsuccess = () => resolve(r.result);
        });
        db.close();
        return count;
      });
      expect(left).toBe(0);
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await setSecurity({ deviceResetAfter: 0 });
    }
  });
});

describe("attachments", () => {
  test("the group's upload limit is said before anything is sent, and with attachments off there is no Attach and no Download", async () => {
    const page = await h.onboard("gina");
    const hank = await h.world.client("hank");
    const dm = await hank.openDirect({ username: "gina" });
    await files(hank).sendFile(dm.id, { name: "report.txt", bytes: new TextEncoder().encode("field report") });
    await convButton(page, /hank/).click();
    await page.getByText("report.txt").waitFor();
    await page.getByRole("button", { name: "Download" }).waitFor();
    try {
      await setMessaging({ maxUploadBytes: 1000 });
      await relock(page);
      await convButton(page, /hank/).click();
      const before = await page.locator(".file").count();
      await page.getByLabel("Attach a file").setInputFiles({ name: "big.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(2000, 7) });
      await page.getByRole("alert").filter({ hasText: "big.bin is 2.0 KB; your security group allows files of at most 1000 B." }).waitFor();
      expect(await page.locator(".file").count()).toBe(before);

      await setMessaging({ attachments: false });
      await relock(page);
      await convButton(page, /hank/).click();
      await page.getByText("Attachments are switched off for your security group.").waitFor();
      expect(await page.getByLabel("Attach a file").count()).toBe(0);
      expect(await page.getByRole("button", { name: "Download" }).count()).toBe(0);
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await updateSecurityGroupSettings(h.world.server.ctx, h.world.networkId, defaultSecurityGroup(h.world.server.ctx, h.world.networkId).id, original);
    }
  });
});

describe("notifications", () => {
  test("in the background a new message is announced, with its text only where the group allows previews", async () => {
    const page = await h.onboard("ivy");
    await page.context().grantPermissions(["notifications"], { origin: h.world.server.url });
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByRole("dialog").getByLabel("Notify me of new messages").check();
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByRole("dialog").getByRole("button", { name: "Close" }).click();
    const jack = await h.world.client("jack");
    const dm = await jack.openDirect({ username: "ivy" });
    type Shown = { title: string; body: string };
    const shown = () =>
      page.evaluate(async () => {
        const r = await navigator.serviceWorker.getRegistration();
        return r ? (await r.getNotifications()).map((n) => ({ title: n.title, body: n.body })) : [];
      });
    const waitShown = async (want: Shown) => {
      const deadline = Date.now() + 10_000;
      while (!(await shown()).some((n) => n.title === want.title && n.body === want.body)) {
        if (Date.now() > deadline) throw new Error(`no notification ${JSON.stringify(want)}; shown: ${JSON.stringify(await shown())}`);
        await Bun.sleep(100);
      }
    };
    // On screen: nothing is announced.
    await jack.sendText(dm.id, "while you look");
    await convButton(page, /jack/).waitFor();
    await page.waitForTimeout(300);
    expect(await shown()).toEqual([]);

    await hide(page);
    await jack.sendText(dm.id, "supply drop at 0600");
    await waitShown({ title: "jack", body: "supply drop at 0600" });
    try {
      await updateSecurityGroupSettings(h.world.server.ctx, h.world.networkId, defaultSecurityGroup(h.world.server.ctx, h.world.networkId).id, { ...original, general: { ...original.general, previewNotifications: false } });
      await relock(page);
      await hide(page);
      await jack.sendText(dm.id, "grid 1234 5678");
      await waitShown({ title: "jack", body: "New message" });
      expect((await shown()).some((n) => n.body.includes("grid"))).toBe(false);
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await updateSecurityGroupSettings(h.world.server.ctx, h.world.networkId, defaultSecurityGroup(h.world.server.ctx, h.world.networkId).id, original);
    }
  });
});

const hide = (page: Page) => setVisibility(page, "hidden");

async function setMessaging(patch: Partial<SecurityGroupSettings["messaging"]>) {
  const ctx = h.world.server.ctx;
  const group = defaultSecurityGroup(ctx, h.world.networkId);
  await updateSecurityGroupSettings(ctx, h.world.networkId, group.id, { ...group.settings, messaging: { ...group.settings.messaging, ...patch } });
}

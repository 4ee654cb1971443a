// The super administrator console in real headless Chromium, without any
// JavaScript of ours: first sign-in and forced password change, creating a
// network and its administrator, a second browser ending the first session,
// lockout after five wrong passwords and unlocking, an API token used before
// and after revocation, TOTP enrollment and sign-in with a computed code.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.ts";
import { accessibilityProblems, launchBrowser, screenshot } from "../support/browser.ts";
import { totpCode } from "../../src/modules/admins/totp.ts";

let s: TestServer;
let browser: Browser;
const SHOTS = "super-admin";
const ADMIN_PW = "Browser-Test-Passw0rd";
const NADIA_PW = "Nadia-Initial-Passw0rd";

beforeAll(async () => {
  s = await startTestServer();
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

async function signIn(page: Page, username: string, password: string, code?: string) {
  await page.goto(`${s.url}/sign-in`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  if (code) await page.getByLabel("Authentication code").fill(code);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** A link of the console's section navigation. */
const nav = (page: Page, name: string) => page.getByRole("navigation", { name: "Console sections" }).getByRole("link", { name, exact: true });

async function expectAccessible(page: Page) {
  expect(await accessibilityProblems(page), page.url()).toEqual([]);
}

test("the super administrator's console, end to end", async () => {
  // --- First sign-in with the printed one-time password, forced change ---
  const a = await browser.newContext();
  const pageA = await a.newPage();
  await pageA.goto(`${s.url}/admin`);
  expect(new URL(pageA.url()).pathname).toBe("/sign-in");
  await expectAccessible(pageA);
  await screenshot(pageA, SHOTS, "01-sign-in");
  await signIn(pageA, "admin", s.firstAdminPassword!);
  expect(new URL(pageA.url()).pathname).toBe("/account/password");
  // A mismatch is reported next to the field.
  await pageA.getByLabel("Current password").fill(s.firstAdminPassword!);
  await pageA.getByLabel("New password", { exact: true }).fill(ADMIN_PW);
  await pageA.getByLabel("Repeat the new password").fill("something-else");
  await pageA.getByRole("button", { name: "Change password" }).click();
  await expect.poll(() => pageA.locator("#f-confirmPassword-error").textContent()).toContain("does not match");
  expect(await pageA.getByLabel("Repeat the new password").getAttribute("aria-invalid")).toBe("true");
  await expectAccessible(pageA);
  await screenshot(pageA, SHOTS, "02-forced-password-change-error");
  await pageA.getByLabel("Current password").fill(s.firstAdminPassword!);
  await pageA.getByLabel("New password", { exact: true }).fill(ADMIN_PW);
  await pageA.getByLabel("Repeat the new password").fill(ADMIN_PW);
  await pageA.getByRole("button", { name: "Change password" }).click();
  expect(new URL(pageA.url()).pathname).toBe("/admin");
  await expect.poll(() => pageA.getByRole("status").textContent()).toContain("password is changed");
  await expectAccessible(pageA);
  await screenshot(pageA, SHOTS, "03-overview");

  // --- Create a network, then its administrator ---
  await nav(pageA, "Networks").click();
  await pageA.getByRole("button", { name: "Create network" }).click();
  await expect.poll(() => pageA.locator("#f-name-error").textContent()).toContain("must not be empty");
  await pageA.getByLabel("Name", { exact: true }).fill("Northwind");
  await pageA.getByLabel("Federation domain (optional)").fill("northwind.example.org");
  await pageA.getByRole("button", { name: "Create network" }).click();
  await expect.poll(() => pageA.locator("h1").textContent()).toBe("Network Northwind");
  await nav(pageA, "Networks").click();
  await expectAccessible(pageA);
  await screenshot(pageA, SHOTS, "04-networks");

  await nav(pageA, "Administrators").click();
  await pageA.getByLabel("Full name").fill("Nadia North");
  await pageA.getByLabel("Username").fill("nadia");
  await pageA.getByLabel("Initial password").fill(NADIA_PW);
  await pageA.getByLabel("Kind").selectOption("network");
  await pageA.getByLabel("Network (network administrators)").selectOption({ label: "Northwind" });
  await pageA.getByRole("button", { name: "Create administrator" }).click();
  await expect.poll(() => pageA.locator("h1").textContent()).toBe("Administrator nadia");
  expect(await pageA.locator("main").textContent()).toContain("Northwind");
  await pageA.getByRole("link", { name: "All administrators" }).click();
  await expectAccessible(pageA);
  await screenshot(pageA, SHOTS, "05-administrators");

  // --- A second browser signing in ends the first session (keyboard only) ---
  const b = await browser.newContext();
  const pageB = await b.newPage();
  await pageB.goto(`${s.url}/sign-in`);
  const focused = () => pageB.evaluate(() => document.activeElement?.id || document.activeElement?.className || document.activeElement?.tagName);
  // Focus order: skip link, username, password, code, button.
  await pageB.keyboard.press("Tab");
  expect(await focused()).toBe("skip");
  await pageB.keyboard.press("Tab");
  expect(await focused()).toBe("f-username");
  await pageB.keyboard.type("admin");
  await pageB.keyboard.press("Tab");
  expect(await focused()).toBe("f-password");
  await pageB.keyboard.type(ADMIN_PW);
  await pageB.keyboard.press("Tab");
  expect(await focused()).toBe("f-totpCode");
  await pageB.keyboard.press("Enter");
  await pageB.waitForURL(/\/admin$/);
  await pageA.goto(`${s.url}/admin/networks`);
  expect(new URL(pageA.url()).pathname).toBe("/sign-in");
  await a.close();

  // --- Five wrong passwords lock nadia; the super administrator unlocks her ---
  const c = await browser.newContext();
  const pageC = await c.newPage();
  for (let i = 0; i < 5; i++) {
    await signIn(pageC, "nadia", `wrong-${i}`);
    await expect.poll(() => pageC.locator("#f-password-error").textContent()).toContain("wrong");
  }
  await signIn(pageC, "nadia", NADIA_PW);
  await expect.poll(() => pageC.locator(".error-summary").textContent()).toContain("locked");
  await screenshot(pageC, SHOTS, "06-locked");
  await nav(pageB, "Lockout").click();
  const row = pageB.getByRole("row", { name: /nadia/ });
  expect(await row.textContent()).toContain("5");
  await expectAccessible(pageB);
  await screenshot(pageB, SHOTS, "07-lockout");
  await row.getByRole("button", { name: "Unlock nadia" }).click();
  await expect.poll(() => pageB.getByRole("status").textContent()).toContain("unlocked");
  await signIn(pageC, "nadia", NADIA_PW);
  expect(new URL(pageC.url()).pathname).toBe("/account/password");
  await pageC.getByLabel("Current password").fill(NADIA_PW);
  await pageC.getByLabel("New password", { exact: true }).fill("Nadia-Own-Passw0rd");
  await pageC.getByLabel("Repeat the new password").fill("Nadia-Own-Passw0rd");
  await pageC.getByRole("button", { name: "Change password" }).click();
  expect(new URL(pageC.url()).pathname).toBe("/network");
  expect(await pageC.locator("main").textContent()).toContain("Northwind");
  await screenshot(pageC, SHOTS, "08-network-landing");
  await c.close();

  // --- An API token: works, then revoked, then refused ---
  await nav(pageB, "API tokens").click();
  await pageB.getByLabel("Label").fill("ci pipeline");
  await pageB.getByRole("button", { name: "Create token" }).click();
  const token = (await pageB.locator("#token-value").textContent())!.trim();
  expect(token).toMatch(/^opt_[0-9a-f]{48}$/);
  await screenshot(pageB, SHOTS, "09-token-created");
  const before = await fetch(`${s.url}/api/v1/networks`, { headers: { authorization: `Bearer ${token}` } });
  expect(before.status).toBe(200);
  expect(JSON.stringify(await before.json())).toContain("Northwind");
  await pageB.goto(`${s.url}/admin/tokens`);
  expect(await pageB.locator("main").textContent()).not.toContain(token);
  await expect.poll(() => pageB.getByRole("row", { name: /ci pipeline/ }).textContent()).not.toContain("never");
  await expectAccessible(pageB);
  await pageB.getByRole("button", { name: "Revoke ci pipeline" }).click();
  await expect.poll(() => pageB.getByRole("status").textContent()).toContain("revoked");
  expect((await fetch(`${s.url}/api/v1/networks`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);

  // --- Two-factor enrollment with a computed code, then sign-in with the next code ---
  await pageB.goto(`${s.url}/account/two-factor`);
  await pageB.getByRole("button", { name: "Set up two-factor sign-in" }).click();
  expect(await pageB.locator(".qr svg").count()).toBe(1);
  await expectAccessible(pageB);
  await screenshot(pageB, SHOTS, "10-two-factor-enrollment");
  const secret = (await pageB.locator("#totp-secret").textContent())!.trim();
  await pageB.getByLabel("Code from the app").fill("123456");
  await pageB.getByRole("button", { name: "Turn two-factor sign-in on" }).click();
  await expect.poll(() => pageB.locator("#f-code-error").textContent()).toContain("does not match");
  const now = Date.now();
  await pageB.getByLabel("Code from the app").fill(totpCode(secret, now));
  await pageB.getByRole("button", { name: "Turn two-factor sign-in on" }).click();
  await expect.poll(() => pageB.getByRole("status").textContent()).toContain("Two-factor sign-in is on");
  await pageB.getByRole("button", { name: "Sign out" }).click();
  expect(new URL(pageB.url()).pathname).toBe("/sign-in");
  await signIn(pageB, "admin", ADMIN_PW);
  await expect.poll(() => pageB.locator("#f-totpCode-error").textContent()).toContain("6-digit");
  // The enrollment code is spent; the next step's code (within the allowed skew) signs in.
  await signIn(pageB, "admin", ADMIN_PW, totpCode(secret, now + 30_000));
  expect(new URL(pageB.url()).pathname).toBe("/admin");

  // --- Appearance: a JPEG logo and a text, shown on the sign-in page ---
  await pageB.goto(`${s.url}/admin/appearance`);
  const jpeg = await pageB.screenshot({ type: "jpeg", quality: 80, clip: { x: 0, y: 0, width: 240, height: 60 } });
  await pageB.getByLabel("Logo image").setInputFiles({ name: "logo.jpg", mimeType: "image/jpeg", buffer: jpeg });
  await pageB.getByRole("button", { name: "Upload logo" }).click();
  await expect.poll(() => pageB.getByRole("status").textContent()).toContain("logo is saved");
  await pageB.getByLabel("Text shown under the logo").fill("Example Corp staff only. Help: extension 4242.");
  await pageB.getByRole("button", { name: "Save text" }).click();
  await expect.poll(() => pageB.getByRole("status").textContent()).toContain("text is saved");
  const visitor = await browser.newContext();
  const visitorPage = await visitor.newPage();
  await visitorPage.goto(`${s.url}/sign-in`);
  expect(await visitorPage.locator("img.sign-in-logo").evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(240);
  expect(await visitorPage.locator("main").textContent()).toContain("extension 4242");
  await screenshot(visitorPage, SHOTS, "16-sign-in-with-appearance");
  await visitor.close();

  // --- Screenshots of the remaining main pages ---
  for (const [path, name] of [
    ["/admin/settings", "11-settings"],
    ["/admin/appearance", "12-appearance"],
    ["/admin/roles", "13-roles"],
    ["/admin/audit", "14-audit"],
    ["/admin/crash-report", "15-crash-report"],
  ] as const) {
    await pageB.goto(s.url + path);
    await expectAccessible(pageB);
    await screenshot(pageB, SHOTS, name);
  }
  expect(await pageB.locator("main").textContent()).toContain("Download the crash report");
  await pageB.goto(`${s.url}/admin/audit?action=network.create`);
  expect(await pageB.locator("tbody").textContent()).toContain("network Northwind");
  await b.close();
}, 120_000);

// The network administrator console in real headless Chromium (no JavaScript of
// ours): sign in, create users, bulk suspend from an uploaded CSV with one unknown
// row reported, edit a security group's messaging settings (an invalid value is
// reported next to its field), create and download a client configuration, block a guest.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import { accessibilityProblems, launchBrowser, screenshot } from "../support/browser.ts";
import { tempDir } from "../support/server.ts";
import { createUsers, listDirectory } from "../../src/modules/users/users.service.ts";
import { listSecurityGroups } from "../../src/modules/security-groups/security-groups.service.ts";
import { openClientConfig } from "../../src/modules/client-config/format.ts";
import { ADMIN_PASSWORD, USER_PASSWORD, startNetWorld, type NetWorld } from "../network/setup.ts";

let w: NetWorld;
let browser: Browser;
const SHOTS = "network-admin";

beforeAll(async () => {
  w = await startNetWorld();
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

const nav = (page: Page, name: string) => page.getByRole("navigation", { name: "Console sections" }).getByRole("link", { name, exact: true });
async function expectAccessible(page: Page) {
  expect(await accessibilityProblems(page), page.url()).toEqual([]);
}

test("the network administrator's console, end to end", async () => {
  const ctx = await browser.newContext({ acceptDownloads: true });
  const page = await ctx.newPage();
  // --- Sign in on the shared page; a single network leads straight to its dashboard ---
  await page.goto(`${w.s.url}/sign-in`);
  await page.getByLabel("Username", { exact: true }).fill("alice-admin");
  await page.getByLabel("Password", { exact: true }).fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  expect(new URL(page.url()).pathname).toBe(`/network/${w.netA}`);
  await expect.poll(() => page.locator("h1").textContent()).toBe("Dashboard");
  await expectAccessible(page);
  await screenshot(page, SHOTS, "01-dashboard");

  // --- Create users (an invalid one first: the error sits next to the field) ---
  await nav(page, "Team directory").click();
  await page.getByLabel("Username", { exact: true }).fill("-bad");
  await page.getByLabel("Initial password").fill(USER_PASSWORD);
  await page.getByRole("button", { name: "Create user" }).click();
  await expect.poll(() => page.locator("#f-username-error").textContent()).toContain("letters, digits");
  await expectAccessible(page);
  for (const [first, last, username] of [["Grace", "Hopper", "grace"], ["Alan", "Turing", "alan"]]) {
    await nav(page, "Team directory").click();
    await page.getByLabel("First name").fill(first!);
    await page.getByLabel("Last name").fill(last!);
    await page.getByLabel("Username", { exact: true }).fill(username!);
    await page.getByLabel("Initial password").fill(USER_PASSWORD);
    await page.getByRole("button", { name: "Create user" }).click();
    await expect.poll(() => page.locator("h1").textContent()).toBe(`User ${username}`);
  }
  await createUsers(w.s.ctx, ["ada", "linus", "margaret"].map((username) => ({ networkId: w.netA, username, password: USER_PASSWORD })));
  await nav(page, "Team directory").click();
  await page.getByLabel("Search by username or name").fill("hopper");
  await page.getByRole("button", { name: "Search" }).click();
  await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
  await screenshot(page, SHOTS, "02-directory-search");

  // --- Bulk suspend from an uploaded CSV with one unknown row ---
  await nav(page, "Bulk changes").click();
  const dir = tempDir("outpost-csv-");
  const csvPath = join(dir, "suspend.csv");
  writeFileSync(csvPath, "username\ngrace\nada\nnobody.here\nlinus\n");
  await page.getByLabel("CSV file", { exact: true }).setInputFiles(csvPath);
  await page.getByLabel("Action").selectOption("suspend");
  await page.getByRole("button", { name: "Preview" }).click();
  await expect.poll(() => page.locator("#preview ~ p, section[aria-labelledby=preview] p").first().textContent()).toContain("3 match");
  expect(await page.locator(".unmatched").textContent()).toContain("Row 4: nobody.here");
  await expectAccessible(page);
  await screenshot(page, SHOTS, "03-bulk-preview");
  await page.getByRole("button", { name: "Suspend 3 user(s)" }).click();
  // A background job: the page refreshes itself (meta refresh) until the result is in.
  await expect.poll(() => page.locator("section[aria-labelledby=job]").textContent(), { timeout: 10_000 }).toContain("Suspended 3 user(s)");
  expect(await page.locator("progress").getAttribute("value")).toBe("4");
  expect(await page.locator(".unmatched").textContent()).toContain("nobody.here");
  expect(await page.getByRole("link", { name: "Download the result report (CSV)" }).count()).toBe(1);
  await expectAccessible(page);
  await screenshot(page, SHOTS, "04-bulk-result");
  expect(listDirectory(w.s.ctx, w.netA, { status: "suspended", limit: 10, offset: 0 }).items.map((u) => u.username).sort()).toEqual(["ada", "grace", "linus"]);

  // --- Edit a security group's messaging settings ---
  await nav(page, "Security groups").click();
  await page.getByRole("main").getByRole("link", { name: "Default", exact: true }).click();
  // Every setting shows who enforces it.
  expect(await page.locator(".enforce-server").count()).toBeGreaterThan(5);
  expect(await page.locator(".enforce-client").count()).toBeGreaterThan(5);
  const expiry = page.getByLabel("Longest message expiration (seconds)");
  await expiry.fill("5");
  await page.getByRole("button", { name: "Save security group" }).click();
  await expect.poll(() => page.locator('[id="f-messaging.maxExpirationSeconds-error"]').textContent()).toContain("60");
  await expectAccessible(page);
  await screenshot(page, SHOTS, "05-group-error");
  await page.getByLabel("Longest message expiration (seconds)").fill("3600");
  await page.getByLabel("Link previews").uncheck();
  await page.getByLabel("Quick responses").fill("On my way\nCall me");
  await page.getByRole("button", { name: "Save security group" }).click();
  await expect.poll(() => page.getByRole("status").textContent()).toContain("security group is saved");
  const def = listSecurityGroups(w.s.ctx, w.netA).find((g) => g.isDefault)!;
  expect(def.settings.messaging).toMatchObject({ maxExpirationSeconds: 3600, linkPreviews: false, quickResponses: ["On my way", "Call me"], attachments: true });
  await screenshot(page, SHOTS, "06-group-saved");

  // --- Create a client configuration and download it ---
  await nav(page, "Client configuration").click();
  await page.getByLabel("Name", { exact: true }).fill("Field phones");
  await page.getByLabel("Expires after (days)").fill("14");
  await page.getByLabel("Password for the file").fill("the file password");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Create and download" }).click()]);
  expect(download.suggestedFilename()).toBe("Field_phones.outpost-config");
  const saved = join(dir, "config.json");
  await download.saveAs(saved);
  const opened = await openClientConfig(readFileSync(saved, "utf8"), "the file password");
  expect(opened).toMatchObject({ name: "Field phones", networkId: w.netA, host: w.s.url });
  await nav(page, "Client configuration").click();
  await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
  await expectAccessible(page);
  await screenshot(page, SHOTS, "07-client-configs");

  // --- Block a guest (a user of network B) ---
  await nav(page, "Guest users").click();
  await page.getByLabel("Guest's network id").fill(w.netB);
  await page.getByLabel("Guest's username").fill("nobody");
  await page.getByRole("button", { name: "Block guest" }).click();
  await expect.poll(() => page.locator("#f-username-error").textContent()).toContain("no such user");
  await createUsers(w.s.ctx, [{ networkId: w.netB, username: "stranger", password: USER_PASSWORD }]);
  await page.getByLabel("Guest's network id").fill(w.netB);
  await page.getByLabel("Guest's username").fill("stranger");
  await page.getByRole("button", { name: "Block guest" }).click();
  await expect.poll(() => page.getByRole("status").textContent()).toContain("guest is blocked");
  expect(await page.locator("tbody").textContent()).toContain("Blocked");
  await expectAccessible(page);
  await screenshot(page, SHOTS, "08-guest-blocked");
  await page.getByRole("button", { name: "Unblock stranger" }).click();
  await expect.poll(() => page.getByRole("status").textContent()).toContain("unblocked");
  await ctx.close();
}, 120_000);

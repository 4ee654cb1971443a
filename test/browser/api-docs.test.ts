// The interactive API reference renders in a real browser with no internet:
// every request stays on the Outpost origin and the CSP is never violated.
import { mkdirSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { launchBrowser } from "../support/browser.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let server: TestServer;
let browser: Browser;
beforeAll(async () => {
  server = await startTestServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it("renders /api/docs offline without leaving the origin or breaking the CSP", async () => {
  const page = await browser.newPage();
  const offOrigin: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) offOrigin.push(r.url());
  });
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(server.url + "/api/docs");
  await page.getByRole("heading", { name: "Outpost API" }).waitFor({ timeout: 15_000 });
  // The operations come from Outpost's own OpenAPI document.
  expect(await page.getByText("Liveness: the process answers").first().isVisible()).toBe(true);
  mkdirSync("test-results", { recursive: true });
  await page.screenshot({ path: "test-results/api-docs.png" });
  expect(offOrigin).toEqual([]);
  expect(errors).toEqual([]);
});

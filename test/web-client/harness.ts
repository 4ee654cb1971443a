// Browser-client test harness: a messaging world (real server, network, users) and real
// headless Chromium, one browser context per user (separate storage, like two devices).
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { PASSWORD, startWorld, type World } from "../messaging/world.ts";
import { launchBrowser } from "../support/browser.ts";

export { PASSWORD };

export interface Harness {
  world: World;
  browser: Browser;
  config: { serviceUrl: string; networkId: string };
  /** A fresh context (its own IndexedDB) with the client open at `/` (or at `path`). */
  open(path?: string): Promise<{ context: BrowserContext; page: Page }>;
  /** Opens a context and onboards `username` through a configuration file or a landing link. */
  onboard(username: string, via?: "file" | "link"): Promise<Page>;
  close(): Promise<void>;
}

export async function startHarness(usernames: string[], opts: { world?: Parameters<typeof startWorld>[0]; browserArgs?: string[] } = {}): Promise<Harness> {
  const world = await startWorld(opts.world);
  await world.addUsers(usernames, { cheapHash: true });
  const browser = await launchBrowser(opts.browserArgs);
  const contexts: BrowserContext[] = [];
  const config = { serviceUrl: world.server.url, networkId: world.networkId };
  const h: Harness = {
    world,
    browser,
    config,
    async open(path = "/") {
      const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => {
        if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(m.text());
      });
      (page as Page & { errors?: string[] }).errors = errors;
      await page.goto(world.server.url + path);
      return { context, page };
    },
    async onboard(username, via = "file") {
      const json = JSON.stringify(config);
      const { page } = await h.open(via === "link" ? `/#config=${Buffer.from(json).toString("base64url")}` : "/");
      if (via === "file") await page.getByLabel("Client configuration file").setInputFiles({ name: "outpost.json", mimeType: "application/json", buffer: Buffer.from(json) });
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("status").filter({ hasText: "Connected" }).waitFor();
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
      await world.close();
    },
  };
  return h;
}

export function pageErrors(page: Page): string[] {
  return (page as Page & { errors?: string[] }).errors ?? [];
}

// Locators and steps every browser-client test uses.
export const log = (p: Page): Locator => p.getByRole("log", { name: "Messages" });
export const convButton = (p: Page, name: string | RegExp): Locator => p.getByRole("navigation", { name: "Conversations" }).getByRole("button", { name });
export const callBar = (p: Page): Locator => p.getByRole("region", { name: "Call" });

export async function send(p: Page, text: string) {
  await p.getByLabel("Message", { exact: true }).fill(text);
  await p.getByRole("button", { name: "Send", exact: true }).click();
}

/** Polls an asynchronous condition (page state) until it holds. */
export async function untilAsync(cond: () => Promise<boolean>, what: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await Bun.sleep(50);
  }
}

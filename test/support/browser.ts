// Real headless Chromium for browser tests: the system package (never a
// downloaded browser), driven by playwright-core. Screenshots land under
// test-results/ (git-ignored) for reviewers.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const resultsDir = fileURLToPath(new URL("../../test-results/", import.meta.url));

export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic", ...extraArgs],
    timeout: 30_000,
  });
}

/** Saves a full-page screenshot as test-results/<group>/<name>.png. */
export async function screenshot(page: Page, group: string, name: string): Promise<string> {
  const dir = join(resultsDir, group);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Runs axe-core in the page (through the debugging protocol, so the page's CSP does not block it); returns serious and critical violations. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  const { source } = await import("axe-core");
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] }> } }).axe;
    return axe.run({ resultTypes: ["violations"] });
  });
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`);
}

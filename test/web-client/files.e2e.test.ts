// Browser client files: a file attached in one browser and downloaded in another arrives
// byte for byte (SHA-256 compared), the SDK and the browser exchange files both ways, and
// the file views pass an accessibility scan.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { files, fileContentOf } from "../../src/client/files.ts";
import { MessageType } from "../../src/client/messages.ts";
import { inbox, until } from "../messaging/world.ts";
import { accessibilityProblems } from "../support/browser.ts";
import { pageErrors, startHarness, type Harness } from "./harness.ts";

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

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const log = (p: Page) => p.getByRole("log", { name: "Messages" });
const convButton = (p: Page, name: string | RegExp) => p.getByRole("navigation", { name: "Conversations" }).getByRole("button", { name });

async function openDm(p: Page, username: string) {
  await p.getByRole("button", { name: "New message" }).click();
  await p.getByRole("dialog").getByLabel("Username").fill(username);
  await p.getByRole("dialog").getByRole("button", { name: "Open" }).click();
  await p.getByRole("heading", { level: 1, name: username }).waitFor();
}

/** Clicks Download on the file message named `name` and returns the bytes the browser saved. */
async function downloadIn(p: Page, name: string): Promise<Uint8Array> {
  const msg = log(p).locator(".msg", { hasText: name });
  const [download] = await Promise.all([p.waitForEvent("download"), msg.getByRole("button", { name: "Download" }).click()]);
  expect(download.suggestedFilename()).toBe(name);
  return new Uint8Array(readFileSync((await download.path())!));
}

describe("files between browsers", () => {
  test("a two-chunk file attached by one browser is downloaded by the other with identical bytes", async () => {
    const bytes = new Uint8Array(randomBytes(4 * 1024 * 1024 + 12_345)); // the SDK's 4 MiB chunks: two of them
    await openDm(alice, "bob");
    await alice.getByLabel("Attach a file").setInputFiles({ name: "survey.bin", mimeType: "application/octet-stream", buffer: Buffer.from(bytes) });
    await log(alice).locator(".msg.mine", { hasText: "survey.bin" }).getByText("Sent").waitFor({ timeout: 30_000 });
    expect(await log(alice).locator(".msg.mine", { hasText: "survey.bin" }).textContent()).toContain("4.0 MB");
    await convButton(bob, /alice/).click();
    const got = await downloadIn(bob, "survey.bin");
    expect(got.length).toBe(bytes.length);
    expect(sha(got)).toBe(sha(bytes));
    // The file views: no serious or critical accessibility problems on either side.
    expect(await accessibilityProblems(alice)).toEqual([]);
    expect(await accessibilityProblems(bob)).toEqual([]);
    expect(pageErrors(alice)).toEqual([]);
    expect(pageErrors(bob)).toEqual([]);
  }, 60_000);
});

describe("files between the browser and the SDK", () => {
  test("an SDK file downloads in the browser, and a browser file downloads through the SDK", async () => {
    const carol = await h.world.client("carol");
    const got = inbox(carol);
    const dm = await carol.openDirect({ username: "alice" });
    const fromSdk = new Uint8Array(randomBytes(70_000));
    await files(carol).sendFile(dm.id, { name: "from-sdk.dat", bytes: fromSdk });
    await convButton(alice, /carol/).click();
    expect(sha(await downloadIn(alice, "from-sdk.dat"))).toBe(sha(fromSdk));

    const fromBrowser = new Uint8Array(randomBytes(90_000));
    await alice.getByLabel("Attach a file").setInputFiles({ name: "from-browser.txt", mimeType: "text/plain", buffer: Buffer.from(fromBrowser) });
    await until(() => got.some((m) => m.type === MessageType.file), "carol receives alice's file message", 15_000);
    const m = got.find((x) => x.type === MessageType.file)!;
    expect(m.senderUserId).toBe(h.world.users.get("alice")!.id);
    const content = fileContentOf(m.content);
    expect(content).toMatchObject({ name: "from-browser.txt", size: 90_000, mimetype: "text/plain" });
    expect(sha(await files(carol).download(content))).toBe(sha(fromBrowser));
    expect(pageErrors(alice)).toEqual([]);
  }, 60_000);
});

// Browser client files: a file attached in one browser and downloaded in another arrives
// byte for byte (SHA-256 compared), the SDK and the browser exchange files both ways, and
// the file views pass an accessibility scan; a room's Files area (moderator in one browser,
// member in another, and the SDK).
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { files, fileContentOf } from "../../src/client/files.ts";
import { MessageType } from "../../src/client/messages.ts";
import { updateNetwork } from "../../src/modules/networks/networks.service.ts";
import { inbox, until } from "../messaging/world.ts";
import { accessibilityProblems } from "../support/browser.ts";
import { pageErrors, startHarness, type Harness, log, convButton } from "./harness.ts";

let h: Harness;
let alice: Page;
let bob: Page;
beforeAll(async () => {
  h = await startHarness(["alice", "bob", "carol", "dave"]);
  alice = await h.onboard("alice", "file");
  bob = await h.onboard("bob", "file");
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

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

describe("dropped connections", () => {
  test("a short drop is retried by itself; a long one leaves Retry, which continues the upload without re-sending what the server has", async () => {
    await convButton(alice, /bob/).click();
    const chunkPuts: string[] = [];
    alice.on("request", (r) => r.method() === "PUT" && /\/chunks\/\d+$/.test(r.url()) && chunkPuts.push(r.url().split("/chunks/")[1]!));
    // A short drop: the second chunk's first two attempts fail, the third goes through.
    let drops = 2;
    await alice.route(/\/chunks\/1$/, (route) => (route.request().method() === "PUT" && drops-- > 0 ? route.abort("connectionreset") : route.continue()));
    const first = new Uint8Array(randomBytes(4 * 1024 * 1024 + 10));
    await alice.getByLabel("Attach a file").setInputFiles({ name: "short-drop.bin", mimeType: "application/octet-stream", buffer: Buffer.from(first) });
    await log(alice).locator(".msg.mine", { hasText: "short-drop.bin" }).getByText("Sent").waitFor({ timeout: 20_000 });
    await alice.unrouteAll();
    // A long drop: every attempt of the second chunk fails until the connection is back.
    chunkPuts.length = 0;
    await alice.route(/\/chunks\/1$/, (route) => (route.request().method() === "PUT" ? route.abort("connectionreset") : route.continue()));
    const second = new Uint8Array(randomBytes(4 * 1024 * 1024 + 20));
    await alice.getByLabel("Attach a file").setInputFiles({ name: "long-drop.bin", mimeType: "application/octet-stream", buffer: Buffer.from(second) });
    const msg = log(alice).locator(".msg.mine", { hasText: "long-drop.bin" });
    await msg.getByText("Not sent").waitFor({ timeout: 20_000 });
    await alice.unrouteAll();
    expect(chunkPuts.filter((c) => c === "0")).toHaveLength(1);
    await msg.getByRole("button", { name: "Retry" }).click();
    await msg.getByText("Sent").waitFor({ timeout: 20_000 });
    expect(chunkPuts.filter((c) => c === "0")).toHaveLength(1); // chunk 0 was not uploaded again
    await convButton(bob, /alice/).click();
    expect(sha(await downloadIn(bob, "short-drop.bin"))).toBe(sha(first));
    expect(sha(await downloadIn(bob, "long-drop.bin"))).toBe(sha(second));
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

describe("integrity", () => {
  test("a chunk altered on the server is refused by the browser with a clear error, and nothing is saved", async () => {
    const carol = h.world.clients.find((c) => c.username === "carol")!;
    const dm = await carol.openDirect({ username: "alice" });
    const sent = await files(carol).sendFile(dm.id, { name: "tampered.bin", bytes: new Uint8Array(randomBytes(30_000)) });
    const hash = sent.content.chunkhashes[0]!;
    const blob = join(h.world.server.ctx.config.dataDir, "blobs", hash.slice(0, 2), hash);
    const stored = readFileSync(blob);
    stored[100]! ^= 1;
    writeFileSync(blob, stored);
    await convButton(alice, /carol/).click();
    let downloads = 0;
    alice.on("download", () => downloads++);
    const msg = log(alice).locator(".msg", { hasText: "tampered.bin" });
    await msg.getByRole("button", { name: "Download" }).click();
    await expect.poll(() => msg.getByRole("alert").textContent()).toContain("Download failed: chunk 0 was altered");
    expect(downloads).toBe(0);
  });
});

describe("a room's Files area", () => {
  test("a moderator's browser uploads into a folder, renames and deletes; a member's browser and the SDK download identical bytes", async () => {
    const ctx = h.world.server.ctx;
    const ids = (n: string) => h.world.users.get(n)!.id;
    const dave = await h.world.client("dave");
    // With the network's file management off (the default), a room shows no Files button.
    const plain = await dave.createRoom({ title: "No files here", memberIds: [ids("alice")] });
    const probed = alice.waitForResponse((r) => r.url().includes(`/rooms/${plain.id}/files`));
    await convButton(alice, /No files here/).click();
    expect((await probed).status()).toBe(403);
    await alice.getByRole("heading", { level: 1, name: "No files here" }).waitFor();
    expect(await alice.getByRole("button", { name: "Files", exact: true }).count()).toBe(0);
    await updateNetwork(ctx, h.world.networkId, { fileManagement: true });
    const got = inbox(dave);
    const room = await dave.createRoom({ title: "Field kit", memberIds: [ids("alice"), ids("bob")], moderatorIds: [ids("alice")] });
    // The SDK puts a file into the area; the browsers get its key in the 4004 message.
    const sdkBytes = new Uint8Array(randomBytes(50_000));
    await files(dave).uploadToRoom(room.id, { name: "sdk-map.bin", bytes: sdkBytes });

    await convButton(alice, /Field kit/).click();
    await alice.getByRole("button", { name: "Files", exact: true }).click();
    const area = (p: Page) => p.getByRole("dialog");
    await area(alice).getByText("sdk-map.bin").waitFor();
    await area(alice).getByLabel("New folder name").fill("Maps");
    await area(alice).getByRole("button", { name: "New folder" }).click();
    await area(alice).getByRole("button", { name: "📁 Maps" }).click();
    await area(alice).getByText("This folder is empty.").waitFor();
    const bytes = new Uint8Array(randomBytes(200_000));
    await area(alice).getByLabel("Upload a file to this folder").setInputFiles({ name: "route.gpx", mimeType: "application/gpx+xml", buffer: Buffer.from(bytes) });
    await area(alice).getByText("route.gpx").waitFor();
    await area(alice).getByRole("button", { name: "Rename route.gpx" }).click();
    await area(alice).getByLabel("New name for route.gpx").fill("route-north.gpx");
    await area(alice).getByRole("button", { name: "Save name" }).click();
    await area(alice).getByText("route-north.gpx").waitFor();
    expect(await accessibilityProblems(alice)).toEqual([]);
    // The browser's upload reaches the SDK member with its key: it downloads the same bytes.
    await until(() => got.some((m) => m.type === MessageType.roomParameters && (m.content as { changemask?: number }).changemask === 64), "dave receives the Files-area key", 15_000);
    const info = got.find((m) => m.type === MessageType.roomParameters && (m.content as { changemask?: number }).changemask === 64)!.content as { filevaultinfo: unknown };
    expect(sha(await files(dave).download(fileContentOf(info.filevaultinfo)))).toBe(sha(bytes));

    // Bob, a plain member: lists, opens the folder, downloads; no changing buttons.
    await convButton(bob, /Field kit/).click();
    await bob.getByRole("button", { name: "Files", exact: true }).click();
    await area(bob).getByRole("button", { name: "📁 Maps" }).click();
    const [download] = await Promise.all([bob.waitForEvent("download"), area(bob).getByRole("button", { name: "Download route-north.gpx" }).click()]);
    expect(sha(new Uint8Array(readFileSync((await download.path())!)))).toBe(sha(bytes));
    expect(await area(bob).getByRole("button", { name: /^Delete|^Rename/ }).count()).toBe(0);
    expect(await area(bob).getByLabel("Upload a file to this folder").count()).toBe(0);
    await area(bob).getByRole("button", { name: "Files area" }).click();
    const [fromSdk] = await Promise.all([bob.waitForEvent("download"), area(bob).getByRole("button", { name: "Download sdk-map.bin" }).click()]);
    expect(sha(new Uint8Array(readFileSync((await fromSdk.path())!)))).toBe(sha(sdkBytes));
    expect(await accessibilityProblems(bob)).toEqual([]);

    // The moderator deletes the file; the list says the folder is empty.
    alice.once("dialog", (d) => void d.accept());
    await area(alice).getByRole("button", { name: "Delete route-north.gpx" }).click();
    await area(alice).getByText("This folder is empty.").waitFor();
    expect((await files(dave).listRoomFiles(room.id)).items.map((e) => e.name).sort()).toEqual(["Maps", "sdk-map.bin"]);
    expect(pageErrors(alice)).toEqual([]);
    expect(pageErrors(bob)).toEqual([]);
  }, 60_000);
});

// Browser client: Files-area keys for members added after a file was uploaded. A moderator's
// browser adding a member hands the key over; a member added by a client that hands nothing
// over sees "Waiting for the key from a room member…", asks the room, and downloads once a
// member's browser answered; a key that does not fit its file is dropped and asked for again.
// Every download is byte-identical (SHA-256 compared).
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { files } from "../../src/client/files.ts";
import { MessageType } from "../../src/client/messages.ts";
import { fileVaultContent } from "../../src/client/room-keys.ts";
import { updateNetwork } from "../../src/modules/networks/networks.service.ts";
import { inbox, until } from "../messaging/world.ts";
import { accessibilityProblems, screenshot } from "../support/browser.ts";
import { pageErrors, startHarness, type Harness, convButton } from "./harness.ts";

let h: Harness;
let alice: Page, bob: Page, carol: Page;
beforeAll(async () => {
  h = await startHarness(["alice", "bob", "carol", "dave"]);
  alice = await h.onboard("alice");
  bob = await h.onboard("bob");
  carol = await h.onboard("carol");
}, 90_000);
afterAll(async () => {
  await h?.close();
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const area = (p: Page) => p.getByRole("dialog");

async function openFiles(p: Page, room: string | RegExp) {
  await convButton(p, room).click();
  await p.getByRole("button", { name: "Files", exact: true }).click();
}

async function download(p: Page, name: string): Promise<Uint8Array> {
  const [d] = await Promise.all([p.waitForEvent("download"), area(p).getByRole("button", { name: `Download ${name}` }).click()]);
  return new Uint8Array(readFileSync((await d.path())!));
}

describe("Files-area keys in the browser", () => {
  test("members added after the upload download identical bytes: by hand-over from a moderator's browser, or by asking the room", async () => {
    const ctx = h.world.server.ctx;
    const ids = (n: string) => h.world.users.get(n)!.id;
    await updateNetwork(ctx, h.world.networkId, { fileManagement: true });
    // dave's SDK client keeps no room keys, so it hands nothing over and answers nothing.
    const dave = await h.world.client("dave");
    const daveIn = inbox(dave);
    const room = await dave.createRoom({ title: "Archive", memberIds: [ids("alice")], moderatorIds: [ids("alice")] });
    const bytes = new Uint8Array(randomBytes(300_000));
    const { entry } = await files(dave).uploadToRoom(room.id, { name: "early.bin", bytes, mimetype: "application/octet-stream" }, { chunkSize: 128 * 1024 });

    // alice was a member at the upload: her browser holds the key from the 4004 message.
    await openFiles(alice, /Archive/);
    await expect.poll(() => area(alice).getByRole("button", { name: "Download early.bin" }).isEnabled(), { timeout: 15_000 }).toBe(true);
    await area(alice).getByRole("button", { name: "Close" }).click();

    // alice's browser adds bob: his browser gets the key handed over and downloads.
    await alice.getByRole("button", { name: "Details" }).click();
    await area(alice).getByLabel("Add members (usernames)").fill("bob");
    await area(alice).getByRole("button", { name: "Add", exact: true }).click();
    await area(alice).getByText("bob", { exact: true }).waitFor();
    await area(alice).getByRole("button", { name: "Close" }).click();
    // A message sent after the hand-over reaches bob after it: once he shows it, he holds the key.
    await alice.getByLabel("Message", { exact: true }).fill("welcome, bob");
    await alice.getByRole("button", { name: "Send", exact: true }).click();
    await convButton(bob, /Archive/).click();
    await bob.getByRole("log", { name: "Messages" }).getByText("welcome, bob").waitFor();
    await bob.getByRole("button", { name: "Files", exact: true }).click();
    await area(bob).getByText("early.bin").waitFor();
    expect(await area(bob).getByRole("button", { name: "Download early.bin" }).isEnabled()).toBe(true);
    expect(sha(await download(bob, "early.bin"))).toBe(sha(bytes));

    // dave adds carol (no hand-over). Her browser checks every received key against the room's
    // list; holding that check back keeps the waiting state on screen for the assertions.
    const held: Route[] = [];
    let holding = true;
    await carol.route(/\/files\/lookup$/, (r) => void (holding ? held.push(r) : r.continue()));
    await dave.changeMembers(room.id, { add: [ids("carol")] });
    await openFiles(carol, /Archive/);
    await area(carol).getByRole("status").filter({ hasText: "Waiting for the key from a room member…" }).waitFor();
    expect(await area(carol).getByRole("button", { name: "Download early.bin" }).isDisabled()).toBe(true);
    await screenshot(carol, "web-client", "files-area-waiting-for-key");
    expect(await accessibilityProblems(carol)).toEqual([]);
    // The request went to the room naming the entry; alice's and bob's browsers answer it.
    await until(() => daveIn.some((m) => m.type === MessageType.roomFileKeyRequest && m.senderUserId === ids("carol")), "dave sees carol's key request", 15_000);
    expect(daveIn.find((m) => m.type === MessageType.roomFileKeyRequest)!.content).toEqual({ entryids: [entry.id] });
    await expect.poll(() => held.length, { timeout: 15_000 }).toBeGreaterThan(0);
    holding = false;
    for (const r of held.splice(0)) await r.continue();
    await carol.unroute(/\/files\/lookup$/);
    await expect.poll(() => area(carol).getByRole("button", { name: "Download early.bin" }).isEnabled(), { timeout: 15_000 }).toBe(true);
    expect(await area(carol).getByText("Waiting for the key from a room member…").count()).toBe(0);
    expect(sha(await download(carol, "early.bin"))).toBe(sha(bytes));

    // A key that does not fit its file (here from dave, a moderator, so believed without the
    // first-chunk check) fails the download; the browser drops it and asks the room again.
    const lateBytes = new Uint8Array(randomBytes(200_000));
    const late = await files(dave).upload(room.id, { name: "late.bin", bytes: lateBytes }, { chunkSize: 64 * 1024 });
    const lateEntry = await dave.api.call<{ id: string }>("POST", `/api/client/v1/rooms/${room.id}/files`, { kind: "file", fileId: late.fileid, name: "late.bin" });
    const carolDevices = (await dave.lookupUsers({ userIds: [ids("carol")] }))[0]!.devices.map((d) => d.deviceId);
    const broken = { ...late, entryid: lateEntry.id, chunkhashes: late.chunkhashes.map((h, i) => (i === 0 ? h : "0".repeat(64))) };
    await dave.send(room.id, MessageType.roomParameters, fileVaultContent([broken], true), { devices: carolDevices });
    await area(carol).getByRole("button", { name: "Close" }).click();
    await carol.getByRole("button", { name: "Files", exact: true }).click();
    await expect.poll(() => area(carol).getByRole("button", { name: "Download late.bin" }).isEnabled(), { timeout: 15_000 }).toBe(true);
    await area(carol).getByRole("button", { name: "Download late.bin" }).click();
    await expect.poll(() => area(carol).getByRole("alert").textContent()).toContain("Download failed: chunk 1 was altered");
    await area(carol).locator("li", { hasText: "late.bin" }).getByRole("status").filter({ hasText: "Waiting for the key from a room member…" }).waitFor();
    await until(() => daveIn.some((m) => m.type === MessageType.roomFileKeyRequest && (m.content as { entryids: string[] }).entryids.includes(lateEntry.id)), "carol asks for late.bin's key again", 15_000);
    await dave.send(room.id, MessageType.roomParameters, fileVaultContent([{ ...late, entryid: lateEntry.id }], true), { devices: carolDevices });
    await expect.poll(() => area(carol).getByRole("button", { name: "Download late.bin" }).isEnabled(), { timeout: 15_000 }).toBe(true);
    expect(sha(await download(carol, "late.bin"))).toBe(sha(lateBytes));

    // bob never had to ask: the hand-over brought his key.
    expect(daveIn.filter((m) => m.type === MessageType.roomFileKeyRequest).map((m) => m.senderUserId)).not.toContain(ids("bob"));
    for (const p of [alice, bob, carol]) expect(pageErrors(p)).toEqual([]);
  }, 120_000);
});

// A room's Files area end to end: the network switch, moderators' folder and file operations
// (server-enforced), files saved from messages announced with 4004 changemask 64, members
// listing and downloading with the key from that message, and chunks going with the last entry.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { files, fileContentOf, MessageType, type OutpostClient } from "../../src/client/index.ts";
import { blobStore } from "../../src/modules/files/blob-store.ts";
import { sweepFiles } from "../../src/modules/files/files.service.ts";
import { updateNetwork } from "../../src/modules/networks/networks.service.ts";
import { inbox, startWorld, until, type World } from "../messaging/world.ts";

let w: World;
let mod: OutpostClient, member: OutpostClient, outsider: OutpostClient;
let roomId: string;

function random(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

async function raw(c: OutpostClient, method: string, path: string, body?: unknown) {
  return fetch(`${w.server.url}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${c.deviceId}.${c.exportState().token}`, "content-type": "application/json" },
  });
}

beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["mod", "member", "outsider"]);
  mod = await w.client("mod");
  member = await w.client("member");
  outsider = await w.client("outsider");
  roomId = (await mod.createRoom({ title: "Projects", memberIds: [member.userId] })).id;
});
afterAll(() => w.close());

describe("room Files area", () => {
  test("is refused while the network's file management switch is off (the default)", async () => {
    await expect(files(member).listRoomFiles(roomId)).rejects.toMatchObject({ code: "forbidden", message: expect.stringContaining("file management") });
    await expect(files(mod).createFolder(roomId, "Docs")).rejects.toMatchObject({ code: "forbidden" });
    await updateNetwork(w.server.ctx, w.networkId, { fileManagement: true });
  });

  test("moderators create folders, upload, rename, move and delete; members list and download", async () => {
    const memberIn = inbox(member);
    const docs = await files(mod).createFolder(roomId, "Docs");
    const drafts = await files(mod).createFolder(roomId, "Drafts", docs.id);
    const bytes = random(10_000);
    const { entry, content } = await files(mod).uploadToRoom(roomId, { name: "plan.pdf", bytes, mimetype: "application/pdf" }, { chunkSize: 4096, parentId: docs.id });
    expect(entry).toMatchObject({ kind: "file", name: "plan.pdf", parentId: docs.id, size: 10_000, fileId: content.fileid });
    // The key reaches the members only inside the encrypted 4004 message (changemask 64).
    await until(() => memberIn.some((m) => m.type === MessageType.roomParameters), "4004 filevaultinfo");
    const announced = memberIn.find((m) => m.type === MessageType.roomParameters)!.content as { changemask: number; filevaultinfo: unknown };
    expect(announced.changemask).toBe(64);
    const vault = fileContentOf(announced.filevaultinfo);
    expect((announced.filevaultinfo as { entryid: string }).entryid).toBe(entry.id);

    const root = await files(member).listRoomFiles(roomId);
    expect(root.items.map((e) => [e.kind, e.name])).toEqual([["folder", "Docs"]]);
    const inDocs = await files(member).listRoomFiles(roomId, { parentId: docs.id });
    expect(inDocs.items.map((e) => e.name)).toEqual(["Drafts", "plan.pdf"]);
    const page = await files(member).listRoomFiles(roomId, { parentId: docs.id, limit: 1 });
    expect(page).toMatchObject({ items: [{ name: "Drafts" }], next: "Drafts" });
    expect((await files(member).listRoomFiles(roomId, { parentId: docs.id, after: page.next! })).items.map((e) => e.name)).toEqual(["plan.pdf"]);
    expect(Buffer.from(await files(member).download(vault)).equals(Buffer.from(bytes))).toBe(true);

    // Members may not change anything (straight at the API, as a modified client would).
    for (const [method, path, body] of [
      ["POST", `/api/client/v1/rooms/${roomId}/files`, { kind: "folder", name: "Mine" }],
      ["POST", `/api/client/v1/rooms/${roomId}/files`, { kind: "file", name: "x", fileId: content.fileid }],
      ["PATCH", `/api/client/v1/rooms/${roomId}/files/${entry.id}`, { name: "renamed" }],
      ["DELETE", `/api/client/v1/rooms/${roomId}/files/${entry.id}`, undefined],
    ] as const) {
      const res = await raw(member, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    // Outsiders learn nothing.
    expect((await raw(outsider, "GET", `/api/client/v1/rooms/${roomId}/files`)).status).toBe(404);
    await expect(files(outsider).download(vault)).rejects.toMatchObject({ code: "not_found" });

    const renamed = await files(mod).updateRoomEntry(roomId, entry.id, { name: "plan-v2.pdf" });
    expect(renamed.name).toBe("plan-v2.pdf");
    const moved = await files(mod).updateRoomEntry(roomId, entry.id, { parentId: drafts.id });
    expect(moved.parentId).toBe(drafts.id);
    expect((await files(member).listRoomFiles(roomId, { parentId: drafts.id })).items.map((e) => e.name)).toEqual(["plan-v2.pdf"]);
    const toRoot = await files(mod).updateRoomEntry(roomId, drafts.id, { parentId: null });
    expect(toRoot.parentId).toBeNull();

    // Bad moves and names.
    await expect(files(mod).updateRoomEntry(roomId, docs.id, { parentId: docs.id })).rejects.toMatchObject({ code: "validation_failed", details: [{ path: "parentId", rule: "cycle" }] });
    await files(mod).updateRoomEntry(roomId, drafts.id, { parentId: docs.id });
    await expect(files(mod).updateRoomEntry(roomId, docs.id, { parentId: drafts.id })).rejects.toMatchObject({ details: [{ rule: "cycle" }] });
    await expect(files(mod).updateRoomEntry(roomId, docs.id, { parentId: entry.id })).rejects.toMatchObject({ details: [{ path: "parentId", rule: "folder" }] });
    await expect(files(mod).createFolder(roomId, "Docs")).rejects.toMatchObject({ code: "conflict", details: [{ path: "name", rule: "unique" }] });
    await expect(files(mod).createFolder(roomId, "a/b")).rejects.toMatchObject({ details: [{ path: "name", rule: "format" }] });
    await expect(files(mod).createFolder(roomId, "..")).rejects.toMatchObject({ details: [{ path: "name", rule: "format" }] });
    await expect(files(mod).createFolder(roomId, "x", crypto.randomUUID())).rejects.toMatchObject({ code: "not_found" });
    expect((await raw(mod, "POST", `/api/client/v1/rooms/${roomId}/files`, { kind: "file", name: "y" })).status).toBe(400);
    expect((await raw(mod, "PATCH", `/api/client/v1/rooms/${roomId}/files/${docs.id}`, {})).status).toBe(400);
    expect((await raw(mod, "GET", `/api/client/v1/rooms/${roomId}/files/../x`)).status).toBe(404);

    // Deleting the folder takes everything below it; the file's chunks go with its last entry.
    expect(await files(mod).deleteRoomEntry(roomId, docs.id)).toEqual({ deleted: 3 });
    expect((await files(member).listRoomFiles(roomId)).items).toEqual([]);
    await sweepFiles(w.server.ctx);
    expect(Bun.file(blobStore(w.server.ctx).pathOf(vault.chunkhashes[0]!)).size).toBe(0);
    await expect(files(member).download(vault)).rejects.toMatchObject({ code: "not_found" });
  });

  test("a file received in a message is saved into the Files area and outlives the message", async () => {
    const memberIn = inbox(member);
    const bytes = random(5000);
    const sent = await files(member).sendFile(roomId, { name: "photo.jpg", bytes }, { ttl: 1 });
    // The moderator saves it (from the content of the 6000 message they received).
    await expect(files(member).saveToRoom(roomId, sent.content)).rejects.toMatchObject({ code: "forbidden" });
    const entry = await files(mod).saveToRoom(roomId, sent.content, { name: "team-photo.jpg" });
    expect(entry).toMatchObject({ name: "team-photo.jpg", fileId: sent.content.fileid });
    await until(() => memberIn.some((m) => m.type === MessageType.roomParameters && (m.content as { changemask: number }).changemask === 64), "4004 changemask 64");
    await Bun.sleep(1300);
    await sweepFiles(w.server.ctx);
    expect(Buffer.from(await files(member).download(sent.content)).equals(Buffer.from(bytes))).toBe(true);
    // Another room's moderator cannot pull this file into their room.
    const other = (await outsider.createRoom({ title: "Elsewhere", memberIds: [mod.userId] })).id;
    await expect(files(outsider).saveToRoom(other, sent.content)).rejects.toMatchObject({ code: "not_found" });
  });
});

// Keys of a room's Files area for members who were not there when a file was added: the
// moderator's client hands them over on adding a member, a new device asks the room (4015)
// and members answer it only, received keys are checked against the room's list and never
// replace a kept one, requests naming another room's entries go unanswered, answers are
// rate limited, and the relay carries directed key messages only to one member's devices.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { files, MessageType, type OutpostClient, type ReceivedMessage } from "../../src/client/index.ts";
import { fileVaultContent, fileVaultInfosOf, RoomKeys, roomKeys, type RoomKeyEvent } from "../../src/client/room-keys.ts";
import { updateNetwork } from "../../src/modules/networks/networks.service.ts";
import { inbox, startWorld, until, type World } from "../messaging/world.ts";

let w: World;
let mod: OutpostClient, alice: OutpostClient, bob: OutpostClient, mallory: OutpostClient;
let roomId: string, otherRoomId: string;
const uploaded: { entryId: string; bytes: Uint8Array }[] = [];
let otherEntryId: string;

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const resentKeys = (box: ReceivedMessage[]) => box.filter((m) => m.type === MessageType.roomParameters && (m.content as { resent?: boolean }).resent === true);
function events(c: OutpostClient): RoomKeyEvent[] {
  const out: RoomKeyEvent[] = [];
  roomKeys(c).on((e) => out.push(e));
  return out;
}

async function raw(c: OutpostClient, path: string, body: unknown) {
  return fetch(`${w.server.url}${path}`, { method: "POST", body: JSON.stringify(body), headers: { authorization: `Bearer ${c.deviceId}.${c.exportState().token}`, "content-type": "application/json" } });
}

beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["mod", "alice", "bob", "mallory", "outsider"]);
  await updateNetwork(w.server.ctx, w.networkId, { fileManagement: true });
  mod = await w.client("mod");
  alice = await w.client("alice");
  bob = await w.client("bob");
  mallory = await w.client("mallory");
  for (const c of [mod, alice, bob, mallory]) roomKeys(c).enable();
  roomId = (await mod.createRoom({ title: "Survey", memberIds: [alice.userId, mallory.userId] })).id;
  otherRoomId = (await mod.createRoom({ title: "Board", memberIds: [mallory.userId] })).id;
  for (const [name, n] of [["a.bin", 9000], ["b.bin", 20_000]] as const) {
    const bytes = random(n);
    const { entry } = await files(mod).uploadToRoom(roomId, { name, bytes }, { chunkSize: 4096 });
    uploaded.push({ entryId: entry.id, bytes });
  }
  otherEntryId = (await files(mod).uploadToRoom(otherRoomId, { name: "minutes.txt", bytes: random(500) })).entry.id;
  // Members at the time of the upload get the keys with the 4004 message itself.
  for (const { entryId } of uploaded) await roomKeys(alice).waitForKey(entryId, 10_000);
}, 60_000);
afterAll(() => w?.close());

describe("room Files-area keys", () => {
  test("a member added after the upload gets the keys from the moderator who added him (one message, to his devices only) and downloads the same bytes", async () => {
    const bobIn = inbox(bob);
    const aliceIn = inbox(alice);
    expect(roomKeys(bob).get(uploaded[0]!.entryId)).toBeUndefined();
    await mod.changeMembers(roomId, { add: [bob.userId] });
    for (const { entryId, bytes } of uploaded) {
      const key = await roomKeys(bob).waitForKey(entryId, 10_000);
      expect(same(await files(bob).download(key), bytes)).toBe(true);
    }
    const handed = resentKeys(bobIn);
    expect(handed).toHaveLength(1);
    expect(handed[0]!.senderUserId).toBe(mod.userId);
    expect(fileVaultInfosOf(handed[0]!.content).map((i) => i.entryid).sort()).toEqual(uploaded.map((u) => u.entryId).sort());
    // Only to the added member: the moderator's other room's key did not go, nor did anyone else get the message.
    expect(roomKeys(bob).get(otherEntryId)).toBeUndefined();
    await until(() => bobIn.some((m) => m.type === MessageType.roomMembers), "bob sees the 4002");
    await until(() => aliceIn.some((m) => m.type === MessageType.roomMembers), "alice sees the 4002");
    expect(resentKeys(aliceIn)).toEqual([]);
  });

  test("a large hand-over is split into several messages, each of bounded size", async () => {
    const room = (await mod.createRoom({ title: "Big", memberIds: [alice.userId] })).id;
    const ids: string[] = [];
    for (const name of ["1.bin", "2.bin", "3.bin"]) ids.push((await files(mod).uploadToRoom(room, { name, bytes: random(100) })).entry.id);
    // Keys as a file of ~3000 chunks describes itself (~200 KB each): three do not fit one message.
    const store = roomKeys(mod).store;
    for (const id of ids) store.set(id, { ...store.get(id)!, chunkhashes: Array.from({ length: 3000 }, (_, i) => i.toString(16).padStart(64, "0")) });
    const bobIn = inbox(bob);
    await mod.changeMembers(room, { add: [bob.userId] });
    await until(() => resentKeys(bobIn).filter((m) => m.conversationId === room).length === 2, "two key messages", 10_000);
    const sent = resentKeys(bobIn).filter((m) => m.conversationId === room);
    expect(sent.map((m) => fileVaultInfosOf(m.content).length).sort()).toEqual([1, 2]);
    for (const m of sent) expect(JSON.stringify(m.content).length).toBeLessThan(512 * 1024 + 1024);
    expect(sent.flatMap((m) => fileVaultInfosOf(m.content).map((i) => i.entryid)).sort()).toEqual([...ids].sort());
  });

  test("a new device of an existing member asks the room and gets the keys from the other members", async () => {
    const code = await alice.createSyncCode();
    const alice2 = await w.client("alice", { syncCode: code });
    const keys2 = roomKeys(alice2).enable();
    const answeredBy = [events(mod), events(bob), events(alice)];
    const malloryIn = inbox(mallory);
    expect(await keys2.requestKeys(roomId, uploaded.map((u) => u.entryId))).toBe(2);
    for (const { entryId, bytes } of uploaded) expect(same(await files(alice2).download(await keys2.waitForKey(entryId, 10_000)), bytes)).toBe(true);
    await until(() => answeredBy.every((evs) => evs.some((e) => e.type === "answered")), "every holder answered", 10_000);
    for (const evs of answeredBy) expect(evs.find((e) => e.type === "answered")).toMatchObject({ roomId, deviceId: alice2.deviceId });
    // Answers are directed: a bystander member received the request, never the keys.
    await until(() => malloryIn.some((m) => m.type === MessageType.roomFileKeyRequest), "mallory sees the request");
    expect(resentKeys(malloryIn)).toEqual([]);
    // Nothing to ask for once every key is held.
    expect(await keys2.requestKeys(roomId, uploaded.map((u) => u.entryId))).toBe(0);
  });

  test("a forged key from a non-moderator for a known entry is ignored; keys of unknown entries, of another file or that do not open the file are never kept", async () => {
    const [target, second] = uploaded as [(typeof uploaded)[0], (typeof uploaded)[0]];
    const good = roomKeys(bob).get(target.entryId)!;
    const bobEvents = events(bob);
    const bobIn = inbox(bob);
    const rejections = () => bobEvents.flatMap((e) => (e.type === "rejected" ? [[e.entryId, e.reason, e.senderUserId]] : []));
    const forged = { ...good, entryid: target.entryId, key: Buffer.from(random(32)).toString("base64url") };
    const bogusEntry = { ...good, entryid: crypto.randomUUID() };
    const otherRoomsEntry = { ...good, entryid: otherEntryId };
    const otherFile = { ...good, entryid: second.entryId };
    await mallory.send(roomId, MessageType.roomParameters, fileVaultContent([forged, bogusEntry, otherRoomsEntry, otherFile], true), { devices: [bob.deviceId] });
    await until(() => rejections().length === 4, "bob rejects all four keys", 10_000);
    expect(rejections()).toEqual([
      [target.entryId, "conflict", mallory.userId],
      [second.entryId, "conflict", mallory.userId],
      [bogusEntry.entryid, "unknown_entry", mallory.userId],
      [otherEntryId, "unknown_entry", mallory.userId],
    ]);
    expect(roomKeys(bob).get(target.entryId)).toEqual(good);
    expect(same(await files(bob).download(roomKeys(bob).get(target.entryId)!), target.bytes)).toBe(true);

    // A device holding no key yet (a fresh store) keeps none of them either: the forged key does
    // not open the file, the others name no entry of this room or another file.
    const message = bobIn.find((m) => m.senderUserId === mallory.userId && m.type === MessageType.roomParameters)!;
    const fresh = new RoomKeys(bob);
    const freshEvents: RoomKeyEvent[] = [];
    fresh.on((e) => freshEvents.push(e));
    expect(await fresh.receive(message)).toEqual([]);
    expect(freshEvents.map((e) => (e.type === "rejected" ? e.reason : e.type))).toEqual(["bad_key", "unknown_entry", "unknown_entry", "mismatch"]);
    expect(fresh.get(target.entryId)).toBeUndefined();
    // The genuine key from the same plain member opens the file and is kept.
    const genuine = { ...message, content: fileVaultContent([{ ...good, entryid: target.entryId }], true) };
    expect((await fresh.receive(genuine)).map((k) => k.entryId)).toEqual([target.entryId]);
    // An identical key again is accepted silently (nothing replaced, no event).
    const count = freshEvents.length;
    expect(await fresh.receive({ ...genuine, content: fileVaultContent([{ ...good, entryid: target.entryId, name: "renamed.bin" }], true) })).toEqual([]);
    expect(freshEvents.length).toBe(count);
  });

  test("a key that does not fit the file (from a trusted sender) fails the download, is forgotten, and the right one is asked for", async () => {
    const target = uploaded[1]!;
    const good = roomKeys(mod).get(target.entryId)!;
    const bob2 = await w.client("bob", { syncCode: await bob.createSyncCode() });
    const keys2 = roomKeys(bob2).enable();
    // The moderator is believed without the first-chunk check: a key whose later chunks fail.
    const wrong = { ...good, entryid: target.entryId, chunkhashes: [good.chunkhashes[0]!, ...good.chunkhashes.slice(1).map(() => "0".repeat(64))] };
    await mod.lookupUsers({ userIds: [bob.userId] }); // mod learns of the new device
    await mod.send(roomId, MessageType.roomParameters, fileVaultContent([wrong], true), { devices: [bob2.deviceId] });
    await keys2.waitForKey(target.entryId, 10_000);
    await expect(keys2.download(target.entryId)).rejects.toMatchObject({ code: "integrity" });
    expect(keys2.get(target.entryId)).toBeUndefined();
    await expect(keys2.download(target.entryId)).rejects.toMatchObject({ code: "no_key" });
    expect(await keys2.requestKeys(roomId, [target.entryId])).toBe(1);
    await keys2.waitForKey(target.entryId, 10_000);
    expect(same(await keys2.download(target.entryId), target.bytes)).toBe(true);
  });

  test("a request naming another room's entries is not answered there; answers are rate limited per device and entry", async () => {
    // Only answers to mallory's device count (answers to earlier tests' devices may still be in flight).
    const all = events(mod);
    const answers = () => all.flatMap((e) => (e.type === "answered" && e.deviceId === mallory.deviceId ? [e] : []));
    const malloryIn = inbox(mallory);
    const [first, second] = uploaded as [(typeof uploaded)[0], (typeof uploaded)[0]];
    // mallory (a member of both rooms) asks in this room for the other room's entry and a real one.
    await mallory.send(roomId, MessageType.roomFileKeyRequest, { entryids: [otherEntryId, first.entryId] });
    await until(() => answers().length > 0, "mod answers", 10_000);
    expect(answers()).toEqual([{ type: "answered", roomId, deviceId: mallory.deviceId, entryIds: [first.entryId] }]);
    await until(() => resentKeys(malloryIn).some((m) => m.senderUserId === mod.userId), "mallory gets mod's answer");
    for (const m of resentKeys(malloryIn)) expect(fileVaultInfosOf(m.content).map((i) => i.entryid)).toEqual([first.entryId]);

    // The same request again within the interval: no second answer for that entry; a new entry still is answered.
    await mallory.send(roomId, MessageType.roomFileKeyRequest, { entryids: [first.entryId] });
    await mallory.send(roomId, MessageType.roomFileKeyRequest, { entryids: [second.entryId] });
    await until(() => answers().length === 2, "mod answers the second entry", 10_000);
    expect(answers().map((e) => e.entryIds)).toEqual([[first.entryId], [second.entryId]]);
    // Once the interval has passed, the entry is answered again.
    roomKeys(mod).answerIntervalMs = 50;
    await Bun.sleep(60);
    await mallory.send(roomId, MessageType.roomFileKeyRequest, { entryids: [first.entryId] });
    await until(() => answers().length === 3, "mod answers again", 10_000);
    // A member who left is not answered (with no rate limit in the way, so only membership decides).
    roomKeys(mod).answerIntervalMs = 0;
    await mod.changeMembers(roomId, { remove: [mallory.userId] });
    await roomKeys(mod).receive({ ...resentKeys(malloryIn)[0]!, senderUserId: mallory.userId, senderDeviceId: mallory.deviceId, type: MessageType.roomFileKeyRequest, content: { entryids: [second.entryId] }, conversationId: roomId });
    expect(answers()).toHaveLength(3);
    roomKeys(mod).answerIntervalMs = 3 * 60_000;
  });

  test("the relay carries a directed key message only to one other member's devices, in rooms with file management on", async () => {
    // Two members at once is not a directed audience of the Files area.
    await expect(mod.send(roomId, MessageType.roomParameters, fileVaultContent([], true), { devices: [alice.deviceId, bob.deviceId] })).rejects.toMatchObject({ code: "missing_recipients" });
    await updateNetwork(w.server.ctx, w.networkId, { fileManagement: false });
    try {
      await expect(mod.send(roomId, MessageType.roomParameters, fileVaultContent([], true), { devices: [bob.deviceId] })).rejects.toMatchObject({ code: "missing_recipients" });
    } finally {
      await updateNetwork(w.server.ctx, w.networkId, { fileManagement: true });
    }
    // Group conversations have no Files area.
    const group = await mod.createGroup([alice.userId, bob.userId]);
    await expect(mod.send(group.id, MessageType.roomParameters, fileVaultContent([], true), { devices: [bob.deviceId] })).rejects.toMatchObject({ code: "missing_recipients" });
    expect((await mod.send(roomId, MessageType.roomParameters, fileVaultContent([], true), { devices: [bob.deviceId] })).duplicate).toBe(false);
  });

  test("an ordinary message sent to one member that way is refused by the recipient: only key messages may travel directed", async () => {
    const box = inbox(alice);
    const errors: { code: string; packetId?: string }[] = [];
    alice.on("error", (e) => errors.push(e as { code: string; packetId?: string }));
    // The relay cannot see the type: it accepts the packet as it would a key hand-over...
    const whisper = await mod.sendText(roomId, "only you will see this", { devices: [alice.deviceId] });
    // ...but marks the delivery directed, and alice's SDK drops it instead of showing it as a room message.
    await until(() => errors.some((e) => e.code === "directed_refused" && e.packetId === whisper.packetId), "the whisper is refused", 8000);
    expect(box.some((m) => m.packetId === whisper.packetId)).toBe(false);
    // A key message the same way still arrives, marked directed; one sent to everyone is not marked.
    const keys = await mod.send(roomId, MessageType.roomParameters, fileVaultContent([], true), { devices: [alice.deviceId] });
    await until(() => box.some((m) => m.packetId === keys.packetId), "the directed key message arrives", 8000);
    expect(box.find((m) => m.packetId === keys.packetId)!.directed).toBe(true);
    const open = await mod.sendText(roomId, "for everyone");
    await until(() => box.some((m) => m.packetId === open.packetId), "the room message arrives", 8000);
    expect(box.find((m) => m.packetId === open.packetId)!.directed).toBeUndefined();
  });

  test("the lookup route answers members only, with this room's entries only, and validates its body", async () => {
    const path = `/api/client/v1/rooms/${roomId}/files/lookup`;
    const ok = await raw(bob, path, { ids: [uploaded[0]!.entryId, otherEntryId, crypto.randomUUID()] });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { items: { id: string }[] }).items.map((e) => e.id)).toEqual([uploaded[0]!.entryId]);
    const outsider = await w.client("outsider");
    expect((await raw(outsider, path, { ids: [uploaded[0]!.entryId] })).status).toBe(404);
    for (const body of [{ ids: [] }, { ids: ["nope"] }, { ids: Array.from({ length: 201 }, () => crypto.randomUUID()) }, { ids: [uploaded[0]!.entryId], extra: 1 }, {}]) {
      const res = await raw(bob, path, body);
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    }
  });
});

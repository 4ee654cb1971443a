// History moved to a user's new device with a sync code (SDK and API, real server): the
// archive opens only with the code, for the same user, once; the server holds ciphertext
// only; expired and burned messages stay behind while timers travel; a wrong code, a changed
// byte, an oversized body, another user's device and a second take are all refused.
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { OutpostClient } from "../../src/client/client.ts";
import { OutpostError } from "../../src/client/api.ts";
import { MAX_SYNC_HISTORY_BYTES, openSyncHistory, sealSyncHistory, syncSecrets, type SyncHistory } from "../../src/client/device-sync.ts";
import { deviceSyncHistories } from "../../src/db/schema/index.ts";
import { PASSWORD, startWorld, type World } from "../messaging/world.ts";

let w: World;
let alice: OutpostClient;
let bob: OutpostClient;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob"], { cheapHash: true });
  alice = await w.client("alice", { connect: false, prekeyCount: 5 });
  bob = await w.client("bob", { connect: false, prekeyCount: 5 });
}, 30_000);
afterAll(() => w.close());

const now = Date.now();
const canary = `history-canary-${crypto.randomUUID()}`;
const history = (): SyncHistory => ({
  conversations: [{ id: "c1", kind: "direct", title: "", members: [{ userId: "u-bob", role: "member" }] }],
  messages: [
    { id: "m-kept", conversationId: "c1", kind: "text", text: canary, sentAt: now - 60_000, ttl: 0, bor: 0, status: "received" },
    { id: "m-expiring", conversationId: "c1", kind: "text", text: "expires later", sentAt: now - 1000, ttl: 3600, bor: 0, status: "sent" },
    { id: "m-burning", conversationId: "c1", kind: "text", text: "read, burns later", sentAt: now - 5000, ttl: 0, bor: 600, readAt: now - 2000, status: "received" },
    { id: "m-expired", conversationId: "c1", kind: "text", text: "already expired", sentAt: now - 20_000, ttl: 10, bor: 0, status: "received" },
    { id: "m-burned", conversationId: "c1", kind: "text", text: "already burned", sentAt: now - 20_000, ttl: 0, bor: 5, readAt: now - 10_000, status: "received" },
  ],
  usernames: { "u-bob": "bob" },
  roomFiles: { e1: { fileid: "f", name: "plan.pdf", key: "k" } },
});
const register = (syncCode: string) => OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: w.networkId }, username: "alice", password: PASSWORD, syncCode, prekeyCount: 2 });
const fail = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a failure"); }, (e: OutpostError) => e);
const rawPut = (c: OutpostClient, lookupHash: string, body: Uint8Array | string, headers: Record<string, string> = {}) =>
  fetch(`${w.server.url}/api/client/v1/sync-bundles/${lookupHash}/history`, { method: "PUT", headers: { authorization: `Bearer ${(c.exportState()).deviceId}.${c.exportState().token}`, "content-type": "application/octet-stream", ...headers }, body: body as BodyInit });

describe("history with a sync code", () => {
  test("the new device takes the history once; timers travel, expired and burned messages do not; the server sees ciphertext only", async () => {
    const code = await alice.createSyncCode({ history: history() });
    const { lookupHash } = await syncSecrets(code);
    const stored = w.server.ctx.storage.read().select().from(deviceSyncHistories).all();
    expect(stored.map((r) => r.lookupHash)).toEqual([lookupHash]);
    const raw = Buffer.from(stored[0]!.archive).toString("latin1");
    for (const secret of [canary, "plan.pdf", "u-bob", code.replace(/-/g, "")]) expect(raw).not.toContain(secret);

    const second = await register(code);
    const got = await second.takeSyncHistory(code);
    expect(got!.messages.map((m) => m.id)).toEqual(["m-kept", "m-expiring", "m-burning"]);
    expect(got!.messages[1]).toMatchObject({ ttl: 3600, sentAt: now - 1000 });
    expect(got!.messages[2]).toMatchObject({ bor: 600, readAt: now - 2000 });
    expect(got!.messages[0]!.text).toBe(canary);
    expect(got!.conversations).toEqual(history().conversations);
    expect(got!.usernames).toEqual({ "u-bob": "bob" });
    expect(got!.roomFiles).toEqual(history().roomFiles);
    // Taken once: the same code brings nothing a second time, and the row is gone.
    expect(await second.takeSyncHistory(code)).toBeNull();
    expect(w.server.ctx.storage.read().select().from(deviceSyncHistories).all()).toEqual([]);
  });

  test("a code without history moves the key only; the new device finds no archive", async () => {
    const code = await alice.createSyncCode();
    const second = await register(code);
    expect(await second.takeSyncHistory(code)).toBeNull();
  });

  test("a wrong code: no archive under its hash on the server, and the real archive does not open with it", async () => {
    const code = await alice.createSyncCode({ history: history() });
    const second = await register(code);
    const wrong = "ABCDE-FGHJK-LMNPQ-RSTUV";
    expect(await second.takeSyncHistory(wrong)).toBeNull();
    const { lookupHash } = await syncSecrets(code);
    const res = await second.api.raw("POST", `/api/client/v1/sync-bundles/${lookupHash}/history/take`);
    const archive = new Uint8Array(await res.arrayBuffer());
    expect(await fail(openSyncHistory(wrong, alice.userId, archive))).toMatchObject({ code: "bad_archive" });
    // The right code still opens the bytes the server handed out.
    expect((await openSyncHistory(code, alice.userId, archive)).messages).toHaveLength(3);
  });

  test("a tampered archive is refused by the new device", async () => {
    const code = await alice.createSyncCode();
    const { lookupHash } = await syncSecrets(code);
    const archive = await sealSyncHistory(code, alice.userId, history());
    archive[archive.length - 40]! ^= 1;
    expect((await rawPut(alice, lookupHash, archive)).status).toBe(201);
    const second = await register(code);
    expect(await fail(second.takeSyncHistory(code))).toMatchObject({ code: "bad_archive" });
    // Truncated, and a valid archive sealed for another user, fail the same way.
    const good = await sealSyncHistory(code, alice.userId, history());
    expect(await fail(openSyncHistory(code, alice.userId, good.subarray(0, good.length - 1)))).toMatchObject({ code: "bad_archive" });
    const forBob = await sealSyncHistory(code, bob.userId, history());
    expect(await fail(openSyncHistory(code, alice.userId, forBob))).toMatchObject({ code: "bad_archive" });
  });

  test("an oversized archive is refused with 413 before it is stored; empty and malformed requests name the problem", async () => {
    const { lookupHash } = await syncSecrets("22222-22222-22222-22222");
    const big = await rawPut(alice, lookupHash, new Uint8Array(MAX_SYNC_HISTORY_BYTES + 1));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "payload_too_large", message: expect.stringContaining(String(MAX_SYNC_HISTORY_BYTES)) });
    // Exactly the limit is accepted.
    expect((await rawPut(alice, lookupHash, new Uint8Array(MAX_SYNC_HISTORY_BYTES))).status).toBe(201);
    const empty = await rawPut(alice, lookupHash, new Uint8Array(0));
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { details: unknown } }).error.details).toEqual([expect.objectContaining({ path: "body" })]);
    const badHash = await rawPut(alice, "not-a-hash", new Uint8Array(10));
    expect(badHash.status).toBe(400);
    expect(((await badHash.json()) as { error: { details: unknown } }).error.details).toEqual([expect.objectContaining({ path: "param.lookupHash" })]);
    const anonymous = await fetch(`${w.server.url}/api/client/v1/sync-bundles/${lookupHash}/history`, { method: "PUT", body: new Uint8Array(10) });
    expect(anonymous.status).toBe(401);
    const anonymousTake = await fetch(`${w.server.url}/api/client/v1/sync-bundles/${lookupHash}/history/take`, { method: "POST" });
    expect(anonymousTake.status).toBe(401);
    // The client refuses to build one larger than the server keeps, before uploading anything.
    const noise = Array.from({ length: 14 }, () => Buffer.from(crypto.getRandomValues(new Uint8Array(65_536))).toString("base64")).join("");
    const huge: SyncHistory = { ...history(), messages: Array.from({ length: 22 }, (_, i) => ({ id: `n${i}`, conversationId: "c1", sentAt: now, ttl: 0, bor: 0, text: `${i}${noise}` })) };
    expect(await fail(alice.createSyncCode({ history: huge }))).toMatchObject({ code: "payload_too_large" });
  }, 60_000);

  test("another user's device cannot take the archive (and does not use it up); one archive per user", async () => {
    const code = await alice.createSyncCode({ history: history() });
    const { lookupHash } = await syncSecrets(code);
    const stolen = await fail(bob.api.raw("POST", `/api/client/v1/sync-bundles/${lookupHash}/history/take`));
    expect(stolen).toMatchObject({ status: 404 });
    // A newer code of the same user replaces the older archive.
    const newer = await alice.createSyncCode({ history: { ...history(), messages: history().messages.slice(0, 1) } });
    const rows = w.server.ctx.storage.read().select().from(deviceSyncHistories).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.lookupHash).toBe((await syncSecrets(newer)).lookupHash);
    const second = await register(newer);
    expect((await second.takeSyncHistory(newer))!.messages.map((m) => m.id)).toEqual(["m-kept"]);
    // The first code still moves the key; its history was replaced by the newer code's.
    const third = await register(code);
    expect(await third.takeSyncHistory(code)).toBeNull();
  });

  test("an archive is kept 10 minutes: after that the code brings no history", async () => {
    const code = await alice.createSyncCode({ history: history() });
    const second = await register(code);
    const realNow = Date.now.bind(Date);
    const clock = vi.spyOn(Date, "now").mockImplementation(() => realNow() + 10 * 60_000 + 1000);
    try {
      expect(await second.takeSyncHistory(code)).toBeNull();
    } finally {
      clock.mockRestore();
    }
  });
});

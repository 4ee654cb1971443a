// Delivery guarantees end to end: offline devices catch up from the log, a reconnect in
// the middle of a stream loses and duplicates nothing, packets leave the database at their
// expiration (delivered or not, clamped to the security group's maximum), burn-on-read.
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { OutpostClient } from "../../src/client/index.ts";
import { defaultSecurityGroup, updateSecurityGroupSettings } from "../../src/modules/security-groups/security-groups.service.ts";
import { collect, inbox, startWorld, until, type World } from "./world.ts";

let w: World;
let alice: OutpostClient, bob: OutpostClient;
let dm: string;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob"]);
  alice = await w.client("alice");
  bob = await w.client("bob");
  dm = (await alice.openDirect({ userId: bob.userId })).id;
});
afterAll(() => w.close());

function packetRow(packetId: string) {
  const db = new Database(join(w.server.dataDir, "outpost.db"), { readonly: true });
  try {
    return db.query("select seq, expires_at as expiresAt, received_at as receivedAt from packets where packet_id = ?").get(packetId) as { seq: number; expiresAt: number; receivedAt: number } | null;
  } finally {
    db.close();
  }
}

function wrapCount(seq: number): number {
  const db = new Database(join(w.server.dataDir, "outpost.db"), { readonly: true });
  try {
    return (db.query("select count(*) as n from packet_wraps where seq = ?").get(seq) as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("delivery", () => {
  test("an offline device gets everything, in order, once it connects", async () => {
    await bob.close();
    const sent = [];
    for (let i = 0; i < 30; i++) sent.push((await alice.sendText(dm, `while you were away ${i}`)).packetId);
    const got = inbox(bob);
    await bob.connect();
    await until(() => got.length === 30, "30 queued messages");
    expect(got.map((m) => m.packetId)).toEqual(sent);
  });

  test("a reconnect in the middle of a stream loses nothing and delivers each packet once", async () => {
    const got = inbox(bob);
    const total = 300;
    const sending = (async () => {
      const ids: string[] = [];
      for (let i = 0; i < total; i++) ids.push((await alice.sendText(dm, `stream ${i}`)).packetId);
      return ids;
    })();
    await until(() => got.length >= 50, "stream started");
    // Drop the connection abruptly (no close handshake from the client's side of the story).
    (bob as unknown as { ws: WebSocket }).ws.close(4999, "test drops the link");
    const ids = await sending;
    await until(() => bob.connected, "reconnected");
    await until(() => new Set(got.map((m) => m.packetId)).size === total, "all 300 delivered");
    expect(new Set(got.map((m) => m.packetId))).toEqual(new Set(ids));
    // Applications see each packet once; redeliveries (if any) are reported as duplicates.
    expect(got.length).toBe(total);
    expect(got.map((m) => m.packetId)).toEqual(ids);
  });

  test("a device registered a moment ago gets the next message although the sender's directory view is stale", async () => {
    await alice.sendText(dm, "warm the directory cache"); // alice now holds bob's device list
    const bob2 = await w.client("bob", { syncCode: await bob.createSyncCode() });
    const got = inbox(bob2);
    const attempts: string[] = [];
    const original = alice.sendPacket.bind(alice);
    alice.sendPacket = (id, bytes) => (attempts.push(id), original(id, bytes));
    const sent = await alice.sendText(dm, "hello, new device");
    alice.sendPacket = original;
    await until(() => got.some((m) => m.packetId === sent.packetId), "the new device receives it");
    expect(attempts).toHaveLength(2); // refused as missing_recipients, then resealed
  });

  test("resending the same packet is acknowledged as a duplicate and not delivered twice", async () => {
    const got = inbox(bob);
    const { packet, packetId } = await alice.seal(dm, 1000, { text: "once" });
    const first = await alice.sendPacket(packetId, packet);
    const second = await alice.sendPacket(packetId, packet);
    expect(second).toEqual({ packetId, seq: first.seq, duplicate: true });
    await until(() => got.length === 1, "delivered");
    await Bun.sleep(100);
    expect(got).toHaveLength(1);
  });
});

describe("expiration", () => {
  test("a packet is deleted from the database at its ttl, delivered or not", async () => {
    await bob.close();
    const sent = await alice.sendText(dm, "self-destruct", { ttl: 1 });
    expect(packetRow(sent.packetId)).not.toBeNull();
    expect(wrapCount(sent.seq)).toBe(2); // bob's two devices
    await until(() => packetRow(sent.packetId) === null, "packet gone at ttl", 3000);
    expect(wrapCount(sent.seq)).toBe(0); // its key wraps go with it
    const got = inbox(bob);
    await bob.connect();
    await alice.sendText(dm, "after");
    await until(() => got.length === 1, "only the later message arrives");
    expect((got[0]!.content as { text: string }).text).toBe("after");
  });

  test("expiration above the security group's maximum is clamped to it (and no ttl means the maximum)", async () => {
    const group = defaultSecurityGroup(w.server.ctx, w.networkId);
    await updateSecurityGroupSettings(w.server.ctx, w.networkId, group.id, { ...group.settings, messaging: { ...group.settings.messaging, maxExpirationSeconds: 120 } });
    // The relay reads the group's maximum when the device connects.
    await alice.close();
    await alice.connect();
    expect(alice.policy!.maxExpirationSeconds).toBe(120);
    const long = await alice.send(dm, 1000, { text: "long" }, { ttl: 86_400 });
    const none = await alice.send(dm, 1000, { text: "none" });
    for (const id of [long.packetId, none.packetId]) {
      const row = packetRow(id)!;
      expect(row.expiresAt - row.receivedAt).toBe(120_000);
    }
    // A conversation's default expiration is clamped the same way.
    const changed = await alice.updateConversation(dm, { ttl: 86_400 });
    expect(changed.ttl).toBe(120);
    await updateSecurityGroupSettings(w.server.ctx, w.networkId, group.id, group.settings);
  });

  test("burn-on-read: the reader's copy burns after reading and the packet leaves the server once delivered", async () => {
    const burned = collect(bob, "burned");
    const got = inbox(bob);
    const sent = await alice.sendText(dm, "burn after reading", { bor: 1 });
    await until(() => got.length === 1, "delivered");
    await until(() => packetRow(sent.packetId) === null, "server copy gone once every recipient device acknowledged it", 3000);
    bob.markRead(dm, [sent.packetId]);
    expect(bob.messages(dm).some((m) => m.packetId === sent.packetId)).toBe(true);
    await until(() => burned.length === 1, "burned after 1 s", 3000);
    expect(bob.messages(dm).some((m) => m.packetId === sent.packetId)).toBe(false);
  });
});

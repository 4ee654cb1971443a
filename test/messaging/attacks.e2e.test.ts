// Attacks and account rules end to end. The relay refuses what it can judge without keys
// (framing, version, suite, size, sender, membership, compliance); recipients drop what
// only keys reveal (tampered body or header, wrong signature) with an error event.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutpostClient, OutpostError } from "../../src/client/index.ts";
import { createDevice, createPrekeys, generateRootKey, parsePacketEnvelope, toBase64url } from "../../src/crypto/index.ts";
import { setComplianceDevice } from "../../src/modules/devices/devices.service.ts";
import { defaultSecurityGroup, updateSecurityGroupSettings } from "../../src/modules/security-groups/security-groups.service.ts";
import { createUser, setUserStatus } from "../../src/modules/users/users.service.ts";
import { MAX_PACKET_BYTES } from "../../src/relay/accept.ts";
import { collect, inbox, PASSWORD, startWorld, until, type World } from "./world.ts";

let w: World;
let alice: OutpostClient, bob: OutpostClient, carol: OutpostClient;
let dm: string;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob", "carol", "eve", "frank", "gina", "hank"]);
  alice = await w.client("alice");
  bob = await w.client("bob");
  carol = await w.client("carol");
  dm = (await alice.openDirect({ userId: bob.userId })).id;
});
afterAll(() => w.close());

/**
 * A raw relay socket authenticated as a client's device: what a modified client could send.
 * It replaces the SDK's connection (one connection per device); done() hands it back.
 */
async function rawSocket(client: OutpostClient) {
  const state = client.exportState();
  const ws = new WebSocket(`${w.server.url.replace("http", "ws")}/api/client/v1/relay`);
  ws.binaryType = "arraybuffer";
  const controls: Record<string, unknown>[] = [];
  let closed: { code: number; reason: string } | undefined;
  ws.onmessage = (e) => typeof e.data === "string" && controls.push(JSON.parse(e.data));
  ws.onclose = (e) => (closed = { code: e.code, reason: e.reason });
  await new Promise((r) => (ws.onopen = r));
  // Resume at the end of the queue: this socket only looks at replies.
  ws.send(JSON.stringify({ t: "auth", device: state.deviceId, token: state.token, cursor: Number.MAX_SAFE_INTEGER }));
  await until(() => controls.some((c) => c.t === "ready"), "raw socket ready");
  return {
    ws,
    controls,
    closed: () => closed,
    async done() {
      ws.close();
      await until(() => closed !== undefined && !client.connected, "raw socket closed");
      await client.connect();
    },
    async send(bytes: Uint8Array): Promise<Record<string, unknown>> {
      const before = controls.length;
      ws.send(bytes as Uint8Array<ArrayBuffer>);
      await until(() => controls.length > before || closed !== undefined, "a reply");
      return controls[before] ?? { closed };
    },
  };
}

function headerOffset(packet: Uint8Array) {
  return { start: 4, length: new DataView(packet.buffer, packet.byteOffset).getUint32(0) };
}

describe("the relay refuses", () => {
  test("malformed frames, unknown version or suite, oversized frames", async () => {
    const raw = await rawSocket(alice);
    expect(await raw.send(crypto.getRandomValues(new Uint8Array(200)))).toMatchObject({ t: "refused", code: "malformed" });
    const { packet } = await alice.seal(dm, 1000, { text: "x" });
    const badVersion = packet.slice();
    badVersion[4] = 9;
    expect(await raw.send(badVersion)).toMatchObject({ t: "refused", code: "unknown_version" });
    const badSuite = packet.slice();
    badSuite[5] = 77;
    expect(await raw.send(badSuite)).toMatchObject({ t: "refused", code: "unknown_suite" });
    const truncated = packet.slice(0, packet.length - 3);
    expect(await raw.send(truncated)).toMatchObject({ t: "refused", code: "malformed" });
    const big = await raw.send(new Uint8Array(MAX_PACKET_BYTES + 1));
    expect(big).toMatchObject({ t: "refused", code: "oversized" });
    expect(String(big.message)).toMatch(/at most 4194304 bytes/);
    // Far past the limit the frame never reaches the relay: the socket is closed (1009).
    raw.ws.send(new Uint8Array(2 * MAX_PACKET_BYTES + 1));
    await until(() => raw.closed() !== undefined, "socket closed");
    expect(raw.closed()!.code).toBe(1009);
    await raw.done();
  });

  test("malformed control frames get an error naming the problem and change nothing", async () => {
    const raw = await rawSocket(carol);
    const reply = async (text: string) => {
      const before = raw.controls.length;
      raw.ws.send(text);
      await until(() => raw.controls.length > before, "a reply");
      return raw.controls[before]!;
    };
    expect(await reply("{not json")).toMatchObject({ t: "error", code: "malformed" });
    expect(await reply("[1,2]")).toMatchObject({ t: "error", code: "malformed" });
    expect(await reply(JSON.stringify({ t: "shout" }))).toMatchObject({ t: "error", code: "unknown_type", message: 'unknown control frame type "shout"' });
    expect(await reply(JSON.stringify({ t: "ack", seq: -1 }))).toMatchObject({ t: "error", code: "malformed", message: "ack.seq must be a non-negative integer" });
    expect(await reply(JSON.stringify({ t: "typing", c: 5 }))).toMatchObject({ t: "error", code: "malformed" });
    expect(await reply(JSON.stringify({ t: "typing", c: dm }))).toMatchObject({ t: "error", code: "not_member" });
    expect(await reply(JSON.stringify({ t: "receipt", c: dm, ids: ["x"] }))).toMatchObject({ t: "error", code: "not_member" });
    expect(await reply(JSON.stringify({ t: "presence", status: "invisible" }))).toMatchObject({ t: "error", code: "malformed" });
    expect(await reply(JSON.stringify({ t: "auth", device: "x", token: "y" }))).toMatchObject({ t: "error", code: "conflict", message: "already authenticated" });
    await raw.done();
  });

  test("unauthenticated frames and bad credentials close the socket", async () => {
    const ws = new WebSocket(`${w.server.url.replace("http", "ws")}/api/client/v1/relay`);
    let closed: CloseEvent | undefined;
    ws.onclose = (e) => (closed = e);
    await new Promise((r) => (ws.onopen = r));
    ws.send(JSON.stringify({ t: "auth", device: alice.deviceId, token: "wrong-token-wrong-token-wrong" }));
    await until(() => closed !== undefined, "closed");
    expect(closed!.code).toBe(4401);
    expect(closed!.reason).toMatch(/wrong device secret/);
    // A packet before authenticating closes the socket too.
    const ws2 = new WebSocket(`${w.server.url.replace("http", "ws")}/api/client/v1/relay`);
    let closed2: CloseEvent | undefined;
    ws2.onclose = (e) => (closed2 = e);
    await new Promise((r) => (ws2.onopen = r));
    ws2.send(new Uint8Array(100));
    await until(() => closed2 !== undefined, "closed");
    expect(closed2).toMatchObject({ code: 4401, reason: "authenticate first" });
  });

  test("a forged sender: bob's device sending a packet that names alice", async () => {
    const raw = await rawSocket(bob);
    const { packet } = await alice.seal(dm, 1000, { text: "from alice, really" });
    expect(await raw.send(packet)).toMatchObject({ t: "refused", code: "forged_sender" });
    await raw.done();
  });

  test("a non-member posting (removed from the group after sealing)", async () => {
    const g = await alice.createGroup([bob.userId, carol.userId]);
    const { packet, packetId } = await alice.seal(g.id, 1000, { text: "still in?" });
    await carol.changeMembers(g.id, { remove: [alice.userId] });
    await expect(alice.sendPacket(packetId, packet)).rejects.toMatchObject({ code: "not_member" });
  });

  test("a wrap for a device outside the conversation", async () => {
    const carolDm = (await alice.openDirect({ userId: carol.userId })).id;
    // Sealed for carol's device but addressed to the alice-bob conversation.
    const { packet } = await alice.seal(carolDm, 1000, { text: "x" });
    const env = parsePacketEnvelope(packet);
    const { encodeStoredPacket } = await import("../../src/crypto/codec.ts");
    const header = env.headerBytes.slice();
    const dmBytes = new TextEncoder().encode(dm);
    header.set(dmBytes, 18);
    const shared = env.shared.slice();
    shared.set(header, 4);
    const raw = await rawSocket(alice);
    expect(await raw.send(encodeStoredPacket(shared, env.wraps.map((x) => x.bytes)))).toMatchObject({ t: "refused", code: "unknown_recipient" });
    await raw.done();
  });
});

describe("recipients drop", () => {
  test("tampered body, tampered header and a wrong signature, each with an error event", async () => {
    const errors = collect(bob, "error");
    const got = inbox(bob);
    const { packet: p1, packetId: id1 } = await alice.seal(dm, 1000, { text: "body" });
    const env = parsePacketEnvelope(p1);
    const bodyTampered = p1.slice();
    bodyTampered[env.shared.length - 1]! ^= 1;
    await alice.sendPacket(id1, bodyTampered);

    const { packet: p2, packetId: id2 } = await alice.seal(dm, 1000, { text: "header" });
    const h = headerOffset(p2);
    const headerTampered = p2.slice();
    headerTampered[h.start + h.length - 32 - 1]! ^= 1; // last byte of the sent time
    await alice.sendPacket(id2, headerTampered);

    const { packet: p3, packetId: id3 } = await alice.seal(dm, 1000, { text: "signature" });
    const h3 = headerOffset(p3);
    const sigTampered = p3.slice();
    sigTampered[h3.start + h3.length + 2 + 5]! ^= 1;
    await alice.sendPacket(id3, sigTampered);

    await until(() => errors.length === 3, "three error events");
    expect(errors.map((e) => e.code)).toEqual(["bad_body", "bad_signature", "bad_signature"]);
    expect(got).toHaveLength(0);
  });

  test("a replayed packet: redelivery from an old cursor yields duplicates, never a second message", async () => {
    const got = inbox(bob);
    const sent = await alice.sendText(dm, "exactly once");
    await until(() => got.length === 1, "first delivery");
    await bob.close();
    const state = bob.exportState();
    // The device restarts with its memory of seen ids but asks the relay for everything again.
    const again = await OutpostClient.restore({ ...state, cursor: 0 });
    w.clients.push(again);
    const got2 = inbox(again);
    const dups = collect(again, "duplicate");
    await again.connect();
    await until(() => dups.some((d) => d.packetId === sent.packetId), "the old packet comes back as a duplicate");
    expect(got2.some((m) => m.packetId === sent.packetId)).toBe(false);
    await again.close();
    bob = await OutpostClient.restore(again.exportState());
    w.clients.push(bob);
    await bob.connect();
  });
});

describe("a compromised server", () => {
  test("cannot slip in a device the user's root key never certified: recipients drop its packets", async () => {
    await w.addUsers(["ivan", "judy"]);
    const ivan = await w.client("ivan");
    const judy = await w.client("judy");
    const dm = (await ivan.openDirect({ userId: judy.userId })).id;
    const errors = collect(judy, "error");
    const got = inbox(judy);
    // What a malicious server could do: publish, for ivan's device, a certificate for the
    // same device id and key made under another root. (Raw SQL on purpose: this plays the attacker.)
    const rogueRoot = await generateRootKey("x25519-ed25519-a256gcm-sha256");
    const rogue = await createDevice({ root: rogueRoot, userId: ivan.userId, deviceId: ivan.deviceId });
    await w.server.ctx.writer.run(() => w.server.ctx.storage.writerConn.run("update devices set certificate = ? where id = ?", [rogue.certificate, ivan.deviceId]));
    await ivan.sendText(dm, "who signed me?");
    await until(() => errors.length === 1, "error event");
    expect(errors[0]).toMatchObject({ code: "device_not_signed" });
    expect(got).toHaveLength(0);
  });
});

describe("registration refuses", () => {
  test("a device certificate not signed by the user's root key, a second root key, bad prekeys", async () => {
    const api = alice.api.baseUrl;
    const call = (path: string, body: unknown) => fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string; message: string; details?: unknown } } & Record<string, unknown> }));
    const signIn = await call("/api/client/v1/sign-in", { networkId: w.networkId, username: "eve", password: PASSWORD });
    expect(signIn.status).toBe(200);
    const userId = signIn.body.userId as string;
    const root = await generateRootKey("x25519-ed25519-a256gcm-sha256");
    const otherRoot = await generateRootKey("x25519-ed25519-a256gcm-sha256");
    const device = await createDevice({ root: otherRoot, userId, deviceId: "eve-1" });
    const { published } = await createPrekeys({ device, count: 2 });
    const r1 = await call("/api/client/v1/devices", { ticket: signIn.body.ticket, suite: root.suite, rootPublicKey: toBase64url(root.publicBytes), certificate: toBase64url(device.certificate), prekeys: published.map(toBase64url) });
    expect(r1.status).toBe(400);
    expect(r1.body.error!.message).toMatch(/^certificate: the device certificate is not signed by the root key/);

    const good = await createDevice({ root, userId, deviceId: "eve-2" });
    const foreign = await createPrekeys({ device: await createDevice({ root, userId, deviceId: "eve-x" }), count: 1 });
    const r2 = await call("/api/client/v1/devices", { ticket: signIn.body.ticket, suite: root.suite, rootPublicKey: toBase64url(root.publicBytes), certificate: toBase64url(good.certificate), prekeys: foreign.published.map(toBase64url) });
    expect(r2.status).toBe(400);
    expect(r2.body.error!.message).toMatch(/^prekeys\.0: not a prekey signed by this device/);

    // A user with a root key cannot register a device under a different root.
    const second = await OutpostClient.register({ config: { serviceUrl: api, networkId: w.networkId }, username: "alice", password: PASSWORD }).catch((e: OutpostError) => e);
    expect(second).toMatchObject({ code: "sync_required" });
    const s2 = await call("/api/client/v1/sign-in", { networkId: w.networkId, username: "alice", password: PASSWORD });
    const aliceDev = await createDevice({ root: otherRoot, userId: alice.userId, deviceId: "alice-evil" });
    const aliceKeys = await createPrekeys({ device: aliceDev, count: 1 });
    const r3 = await call("/api/client/v1/devices", { ticket: s2.body.ticket, suite: otherRoot.suite, rootPublicKey: toBase64url(otherRoot.publicBytes), certificate: toBase64url(aliceDev.certificate), prekeys: aliceKeys.published.map(toBase64url) });
    expect(r3.status).toBe(409);
    expect(r3.body.error!.message).toMatch(/already has a different root key/);

    const malformed = await fetch(`${api}/api/client/v1/devices`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe("malformed_json");
    const wrongTypes = await call("/api/client/v1/devices", { ticket: 5, suite: "rot13", rootPublicKey: "", certificate: "!", prekeys: [] });
    expect(wrongTypes.status).toBe(400);
    expect((wrongTypes.body.error!.details as { path: string }[]).map((d) => d.path).sort()).toEqual(["certificate", "prekeys", "rootPublicKey", "suite", "ticket"]);
  });
});

describe("account rules", () => {
  test("a suspended user is refused at sign-in, on the API and on the relay, and cut off at once", async () => {
    const frank = await w.client("frank");
    const closed = collect(frank, "disconnected");
    await setUserStatus(w.server.ctx, w.networkId, frank.userId, "suspended");
    await until(() => closed.length === 1, "live connection closed");
    expect(closed[0]).toMatchObject({ code: 4403 });
    const again = await OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: w.networkId }, username: "frank", password: PASSWORD }).catch((e: OutpostError) => e);
    expect(again).toMatchObject({ code: "account_suspended", status: 403 });
    expect((again as OutpostError).message).toMatch(/suspended; ask a network administrator/);
    await expect(frank.api.call("GET", "/api/client/v1/me")).rejects.toMatchObject({ code: "account_suspended" });
    await expect(frank.connect()).rejects.toMatchObject({ code: "account_suspended" });
  });

  test("wrong passwords suspend the account after the group's limit; device reset after its own", async () => {
    const group = defaultSecurityGroup(w.server.ctx, w.networkId);
    await updateSecurityGroupSettings(w.server.ctx, w.networkId, group.id, { ...group.settings, security: { ...group.settings.security, suspendAfter: 3, deviceResetAfter: 2 } });
    const gina = await w.client("gina");
    const ginaClosed = collect(gina, "disconnected");
    const attempt = (password: string) => OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: w.networkId }, username: "gina", password }).catch((e: OutpostError) => e);
    expect(await attempt("Wrong-Password-1")).toMatchObject({ code: "invalid_credentials", message: "wrong username or password (2 attempts left before suspension)" });
    expect(await attempt("Wrong-Password-2")).toMatchObject({ code: "invalid_credentials" });
    // The second wrong password reset gina's devices: her connection is closed and her secret is void.
    await until(() => ginaClosed.length === 1, "device reset closes the connection");
    expect(ginaClosed[0]).toMatchObject({ code: 4001 });
    await expect(gina.api.call("GET", "/api/client/v1/me")).rejects.toMatchObject({ status: 401, message: "this device was reset; register it again" });
    expect(await attempt("Wrong-Password-3")).toMatchObject({ code: "account_suspended" });
    expect(await attempt(PASSWORD)).toMatchObject({ code: "account_suspended" });
    await updateSecurityGroupSettings(w.server.ctx, w.networkId, group.id, group.settings);
  });

  test("password complexity comes from the security group", async () => {
    await expect(createUser(w.server.ctx, { networkId: w.networkId, username: "weak", password: "short" })).rejects.toMatchObject({ code: "validation_failed", message: "password: must be at least 10 characters" });
    const unknown = await OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: w.networkId }, username: "nobody", password: PASSWORD }).catch((e: OutpostError) => e);
    expect(unknown).toMatchObject({ code: "invalid_credentials", message: "wrong username or password" });
  });
});

describe("compliance", () => {
  test("with a compliance device the relay refuses packets without its wrap; the SDK always includes it", async () => {
    await w.addUsers(["recordsbot"], { type: "bot" });
    const records = await w.client("recordsbot");
    const { packet, packetId } = await alice.seal(dm, 1000, { text: "before" });
    await setComplianceDevice(w.server.ctx, w.networkId, records.deviceId);
    await expect(alice.sendPacket(packetId, packet)).rejects.toMatchObject({ code: "compliance_wrap_missing" });
    const recordsIn = inbox(records);
    await alice.close();
    await alice.connect(); // picks up the policy naming the compliance device
    expect(alice.policy!.complianceDeviceId).toBe(records.deviceId);
    const sent = await alice.sendText(dm, "retained");
    await until(() => recordsIn.some((m) => m.packetId === sent.packetId), "compliance device receives and opens it");
    expect(recordsIn.find((m) => m.packetId === sent.packetId)!.content).toMatchObject({ text: "retained" });
    await setComplianceDevice(w.server.ctx, w.networkId, null);
  });
});

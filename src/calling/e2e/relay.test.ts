// Calls set up entirely through the messaging server: a real server with its spawned calling
// node, SDK clients on loopback; tokens from the client API, signalling over the relay
// WebSocket, call keys and lifecycle in encrypted 7000 messages (also to the retention device).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { collect, inbox, startWorld, until, type World } from "../../../test/messaging/world.ts";
import { AdminClient } from "../../../test/support/admin-client.ts";
import { ActiveCall, CallManager, CallStatus, callRecordContent, OutpostClient, OutpostError, usernameHash, type CallContent, type CallEvent, type ReceivedMessage } from "../../client/index.ts";
import { formatLine, parseComplianceRecord } from "../../compliance/format.ts";
import { createConversation } from "../../modules/conversations/conversations.service.ts";
import { setComplianceDevice } from "../../modules/devices/devices.service.ts";
import { defaultSecurityGroup, updateSecurityGroupSettings } from "../../modules/security-groups/security-groups.service.ts";
import { CallKeyring, FrameError } from "../frame-crypto.ts";
import type { ReceivedMedia } from "../participant.ts";
import type { Actor } from "../../modules/audit/audit.service.ts";
import { endCall } from "../calling.service.ts";
import { callsOfNetwork, MAX_CALLS_PER_DEVICE } from "../calls.service.ts";
import { callLimits } from "../signalling.ts";
import { callingService } from "../supervisor.ts";
import { syntheticPayload } from "./support.ts";

let w: World;
let retention: OutpostClient;
const c: Record<string, OutpostClient> = {};
const calls: Record<string, CallManager> = {};
const inboxes: Record<string, ReceivedMessage[]> = {};
let groupId: string;

const callMessages = (name: string) => inboxes[name]!.filter((m) => m.type === 7000).map((m) => ({ m, call: (m.content as CallContent).call }));
const lifecycle = (name: string, callId: string) => callMessages(name).filter((x) => x.call.callid === callId && x.call.status !== undefined);
const keysOf = (name: string, callId: string) => callMessages(name).filter((x) => x.call.callid === callId && x.call.key);

function incoming(name: string): Promise<CallEvent> {
  return new Promise((resolve) => {
    const off = calls[name]!.onCall((e) => {
      if (e.status === CallStatus.starting && e.message.senderUserId !== c[name]!.userId) (off(), resolve(e));
    });
  });
}

beforeAll(async () => {
  w = await startWorld({ overrides: { callingMode: "spawn", callingTcpPort: 0, callingUdpPortMin: 43000, callingUdpPortMax: 43999, logLevel: "warn" } });
  await callingService(w.server.ctx)!.supervisor!.ready();
  await w.addUsers(["alice", "bob", "carol", "dave", "records"]);
  retention = await w.client("records", { connect: false });
  await setComplianceDevice(w.server.ctx, w.networkId, retention.deviceId);
  inboxes.records = inbox(retention);
  await retention.connect();
  for (const n of ["alice", "bob", "carol", "dave"]) {
    c[n] = await w.client(n, { connect: false });
    calls[n] = new CallManager(c[n]);
    inboxes[n] = inbox(c[n]);
    await c[n].connect();
  }
  const g = await c.alice!.createGroup([w.users.get("bob")!.id, w.users.get("carol")!.id], { title: "standup" });
  groupId = g.id;
});
afterAll(async () => {
  await w?.close();
});

async function sendAndCheck(participants: { name: string; call: ActiveCall }[], rounds: number) {
  const got = new Map<string, ReceivedMedia[]>(participants.map((p) => [p.name, []]));
  const offs = participants.map((p) => p.call.onMedia((m) => got.get(p.name)!.push(m)));
  const sent = new Map<string, Uint8Array>();
  for (let i = 0; i < rounds; i++) {
    for (const p of participants) {
      const payload = syntheticPayload(p.call.participant.participantId, "audio", i);
      sent.set(`${p.call.participant.participantId}/audio/${i}`, payload);
      await p.call.sendRtp("audio", payload, { audioLevel: 30 });
    }
    await Bun.sleep(5);
  }
  const want = rounds * (participants.length - 1);
  await until(() => [...got.values()].every((g) => g.length >= want), "all media", 8000);
  for (const p of participants) {
    const media = got.get(p.name)!;
    expect(media.length).toBe(want);
    for (const m of media) {
      const label = new TextDecoder().decode(m.payload.subarray(0, 40)).split("/").slice(0, 3).join("/");
      const from = label.split("/")[0];
      expect(from).not.toBe(p.call.participant.participantId);
      expect(m.from).toBe(from);
      expect(Buffer.from(m.payload).equals(Buffer.from(sent.get(label)!))).toBe(true);
      expect(Buffer.from(m.wire).includes(Buffer.from(m.payload.subarray(0, 16)))).toBe(false);
    }
  }
  offs.forEach((off) => off());
  return got;
}

describe("a call set up through the messaging server", () => {
  test("three parties: tokens, relay signalling, keys in 7000 messages, media byte-identical; a leaver is rotated out; lifecycle reaches every member and retention", async () => {
    const ringing = [incoming("bob"), incoming("carol")];
    const alice = await calls.alice!.start(groupId, { send: ["audio"], receive: { audio: 2 } });
    expect(alice.isKeyOwner).toBe(true);
    const [bobRing, carolRing] = await Promise.all(ringing);
    expect(bobRing!.callId).toBe(alice.callId);
    expect(carolRing!.callId).toBe(alice.callId);
    const bob = await calls.bob!.join(alice.callId, { send: ["audio"], receive: { audio: 2 } });
    const carol = await calls.carol!.join(alice.callId, { send: ["audio"], receive: { audio: 2 } });
    const all = [
      { name: "alice", call: alice },
      { name: "bob", call: bob },
      { name: "carol", call: carol },
    ];
    // The participant ids are the devices; everyone agrees who holds the key.
    expect(bob.participant.participantId).toBe(c.bob!.deviceId);
    for (const p of all) {
      await until(() => p.call.others.length === 2, `${p.name} sees two others`);
      await until(() => p.call.participant.slots.filter((s) => s.participantId).length === 2, `${p.name} slots`);
      expect(p.call.keyId).toBe(0);
    }
    expect(bob.isKeyOwner || carol.isKeyOwner).toBe(false);
    // The key came to bob and carol in a 7000 message sealed for their devices only.
    expect(keysOf("bob", alice.callId).map((k) => k.call.key!.id)).toEqual([0]);
    expect(keysOf("carol", alice.callId).map((k) => k.call.key!.id)).toEqual([0]);
    await until(() => keysOf("records", alice.callId).length === 2, "retention device has both key copies");
    expect(keysOf("dave", alice.callId)).toEqual([]);
    expect(keysOf("alice", alice.callId)).toEqual([]);

    await sendAndCheck(all, 25);

    // Carol leaves, keeping what she had: the key she was sent.
    const carolKey = keysOf("carol", alice.callId)[0]!.call.key!;
    await carol.leave();
    for (const p of [alice, bob]) await until(() => p.keyId === 1 && p.others.length === 1, "key 1 after carol left");
    const bobKeys = keysOf("bob", alice.callId);
    expect(bobKeys.map((k) => k.call.key!.id)).toEqual([0, 1]);
    expect(bobKeys[1]!.m.senderDeviceId).toBe(c.alice!.deviceId);
    await Bun.sleep(200);
    expect(keysOf("carol", alice.callId).map((k) => k.call.key!.id)).toEqual([0]);

    const got = await sendAndCheck(all.slice(0, 2), 10);
    const fromAlice = got.get("bob")!;
    expect(fromAlice.every((m) => m.keyId === 1)).toBe(true);
    // What carol could do with what she kept: nothing, for frames sent after she left.
    const kept = new CallKeyring();
    await kept.install({ keyId: carolKey.id, raw: Buffer.from(carolKey.k, "base64url") });
    for (const m of fromAlice) await expect(kept.decrypt(m.wire)).rejects.toThrow(FrameError);

    // Carol, still a member of the conversation, tries to plant a key she knows. Sent to the
    // call's devices only, the relay refuses it: she is no longer in the call.
    const planted = { call: { callid: alice.callId, key: { id: 7, k: Buffer.alloc(32, 7).toString("base64url") } } } satisfies CallContent;
    await expect(c.carol!.send(groupId, 7000, planted, { devices: [c.bob!.deviceId] })).rejects.toMatchObject({ code: "missing_recipients" });
    // Sent to every member, it arrives, and bob's client ignores a key from outside the call.
    await c.carol!.send(groupId, 7000, planted);
    // And malformed key messages from someone in the call: dropped without harm.
    for (const key of [{ id: 300, k: Buffer.alloc(32).toString("base64url") }, { id: 2, k: "short" }, { id: 2 }, "key"]) {
      await c.alice!.send(groupId, 7000, { call: { callid: alice.callId, key } }, { devices: [c.bob!.deviceId] });
    }
    await until(() => keysOf("bob", alice.callId).length === 7, "bob received carol's key message and the malformed ones");
    await Bun.sleep(50);
    expect(bob.keyId).toBe(1);

    // An invite into the running call names its start message.
    await bob.invite();
    await until(() => lifecycle("carol", alice.callId).some((x) => x.call.invitemsgid), "carol has the invite");

    await bob.leave();
    await alice.leave();
    const start = lifecycle("bob", alice.callId).find((x) => x.call.status === 0 && !x.call.invitemsgid)!;
    // Alice left last and wrote the end; her own single device does not receive its own messages.
    for (const n of ["bob", "carol", "records"]) {
      await until(() => lifecycle(n, alice.callId).some((x) => x.call.status === CallStatus.completed), `${n} has the end`);
    }
    const hashes = (await Promise.all(["alice", "bob", "carol"].map(usernameHash))).sort();
    for (const n of ["bob", "carol", "records"]) {
      // Bob sent the invite: his device does not receive it back.
      const l = lifecycle(n, alice.callId);
      expect(l.map((x) => x.call.status)).toEqual(n === "bob" ? [0, 1] : [0, 0, 1]);
      if (n !== "bob") expect(l[1]!.call.invitemsgid).toBe(start.m.packetId);
      const end = l.at(-1)!.call;
      expect(end.startmsgid).toBe(start.m.packetId);
      expect(end.duration).toBeGreaterThanOrEqual(0);
      expect(end.participants).toEqual(hashes);
      expect(end.meetingid).toBe(1);
    }
    expect(start.call.participants).toEqual([await usernameHash("alice")]);
    // The retention device turns every lifecycle message into a valid record; key messages are not recorded.
    const lines = callMessages("records")
      .filter((x) => x.call.callid === alice.callId)
      .map((x) => ({ x, content: callRecordContent(x.m.content) }))
      .filter((r) => r.content !== null)
      .map(({ x, content }) =>
        JSON.parse(
          formatLine(
            parseComplianceRecord({
              type: 7000,
              messageId: x.m.packetId,
              receivedAtUs: x.m.sentAt * 1000,
              sender: x.m.senderUserId,
              senderType: "normal",
              conversationId: x.m.conversationId,
              ttl: x.m.ttl,
              bor: x.m.bor,
              linkPreviews: true,
              content,
            }),
          ),
        ) as { msgtype: number; call: Record<string, unknown> },
      );
    expect(lines.map((l) => l.call.status)).toEqual([0, 0, 1]);
    expect(lines[1]!.call.invitemsgid).toBe(start.m.packetId);
    expect(lines[2]!.call).toMatchObject({ startmsgid: start.m.packetId, participants: hashes, meetingid: 1 });
    expect(JSON.stringify(lines)).not.toContain('"key"');
    // The server forgot the call once the last one left.
    await until(() => !callsOfNetwork(w.server.ctx, w.networkId).some((x) => x.callId === alice.callId), "server registry empty");
  });

  test("the key holder leaving hands the key to the next in join order; a dropped relay connection counts as leaving", async () => {
    const ringing = [incoming("bob"), incoming("carol")];
    const alice = await calls.alice!.start(groupId, { receive: { audio: 2 } });
    await Promise.all(ringing);
    const bob = await calls.bob!.join(alice.callId, { receive: { audio: 2 } });
    const carol = await calls.carol!.join(alice.callId, { receive: { audio: 2 } });
    for (const p of [alice, bob, carol]) await until(() => p.others.length === 2 && p.keyId === 0, "all in with key 0");
    expect([alice.isKeyOwner, bob.isKeyOwner, carol.isKeyOwner]).toEqual([true, false, false]);
    // The admin API ties the call to its network and conversation, and filters by network.
    const admin = new AdminClient(w.server.url);
    await admin.signInFirstTime("admin", w.server.firstAdminPassword!);
    type Status = { calls: { callId: string; networkId: string | null; conversationId: string | null; participants: { participantId: string }[] }[] };
    const mine = (await (await admin.request("GET", `/api/v1/calling/status?networkId=${w.networkId}`)).json()) as Status;
    const listed = mine.calls.find((x) => x.callId === alice.callId)!;
    expect(listed).toMatchObject({ networkId: w.networkId, conversationId: groupId });
    expect(listed.participants.map((p) => p.participantId).sort()).toEqual([c.alice!.deviceId, c.bob!.deviceId, c.carol!.deviceId].sort());
    const other = (await (await admin.request("GET", "/api/v1/calling/status?networkId=elsewhere")).json()) as Status;
    expect(other.calls).toEqual([]);
    await alice.leave();
    await until(() => bob.isKeyOwner && bob.keyId === 1 && carol.keyId === 1, "bob took over and rotated");
    const k1 = keysOf("carol", alice.callId).find((k) => k.call.key!.id === 1)!;
    expect(k1.m.senderDeviceId).toBe(c.bob!.deviceId);
    expect(keysOf("alice", alice.callId)).toEqual([]);
    // Carol's relay connection drops: the server closes her node link, the node tells bob, bob rotates.
    await c.carol!.close();
    await until(() => bob.others.length === 0 && bob.keyId === 2, "bob alone with key 2");
    await until(() => !carol.participant.pc || carol.participant.pc.connectionState === "closed", "carol's media closed");
    await c.carol!.connect();
    await bob.leave();
    await until(() => lifecycle("carol", alice.callId).some((x) => x.call.status === CallStatus.completed), "carol has the end from bob");
    expect(lifecycle("carol", alice.callId).at(-1)!.m.senderUserId).toBe(c.bob!.userId);
  });

  test("a call an administrator ends gets its end message from the key holder", async () => {
    const ringing = incoming("bob");
    const alice = await calls.alice!.start(groupId, { receive: { audio: 1 } });
    await ringing;
    const bob = await calls.bob!.join(alice.callId, { receive: { audio: 1 } });
    await until(() => alice.others.length === 1 && bob.keyId === 0, "both in");
    const system: Actor = { type: "system", id: null, name: "test" };
    await endCall(w.server.ctx, system, alice.callId);
    for (const n of ["bob", "carol"]) await until(() => lifecycle(n, alice.callId).some((x) => x.call.status === CallStatus.completed), `${n} has the end`);
    expect(lifecycle("carol", alice.callId).filter((x) => x.call.status === CallStatus.completed)).toHaveLength(1);
    expect(lifecycle("bob", alice.callId).at(-1)!.m.senderUserId).toBe(c.alice!.userId);
    await until(() => bob.participant.pc.connectionState === "closed", "bob's media closed");
  });

  test("a call nobody answers is missed; one the caller ends alone is cancelled", async () => {
    const dm = await c.alice!.openDirect({ userId: c.bob!.userId });
    const missed = await calls.alice!.start(dm.id, { ringTimeoutMs: 300 });
    await until(() => lifecycle("bob", missed.callId).some((x) => x.call.status === CallStatus.missed), "missed call at bob", 8000);
    const m = lifecycle("bob", missed.callId);
    expect(m.map((x) => x.call.status)).toEqual([0, 2]);
    expect(m[1]!.call.startmsgid).toBe(m[0]!.m.packetId);
    expect(m[1]!.call.meetingid).toBe(0);
    expect(m[1]!.call.duration).toBeUndefined();

    const cancelled = await calls.alice!.start(dm.id);
    await cancelled.leave();
    await until(() => lifecycle("bob", cancelled.callId).some((x) => x.call.status === CallStatus.cancelled), "cancelled call at bob");
    expect(callRecordContent(lifecycle("records", cancelled.callId).at(-1)?.m.content)).toMatchObject({ status: 3 });
  });
});

describe("refusals", () => {
  test("a non-member can neither start nor join, and the relay carries no signalling for a call without a grant", async () => {
    await expect(calls.dave!.start(groupId)).rejects.toMatchObject({ code: "not_found", status: 404 });
    const alice = await calls.alice!.start(groupId);
    await expect(calls.dave!.join(alice.callId)).rejects.toMatchObject({ code: "not_found", status: 404 });
    // Dave presenting signalling for that call straight over the relay: refused, nothing opened.
    const frames = collect(c.dave!, "control");
    c.dave!.control({ t: "call", call: alice.callId, m: { t: "join", token: "x".repeat(32), send: ["audio"], receive: ["audio"] } });
    await until(() => frames.some((f) => f.frame.t === "call-closed"), "refusal");
    expect(frames.find((f) => f.frame.t === "call")!.frame.m).toMatchObject({ t: "error", code: "bad-token", fatal: true });
    // Malformed call frames get a clear error and nothing else.
    const errors = collect(c.dave!, "error");
    c.dave!.control({ t: "call", call: "nope", m: {} });
    c.dave!.control({ t: "call", call: alice.callId, m: "join" });
    await until(() => errors.length === 2, "two errors");
    expect(errors.every((e) => e.code === "malformed")).toBe(true);
    // An oversized signalling message is refused by the server before any node sees it.
    c.dave!.control({ t: "call", call: alice.callId, m: { t: "offer", sdp: "v".repeat(callLimits.maxFrameBytes + 1) } });
    await until(() => frames.some((f) => f.frame.t === "call" && /at most/.test(String((f.frame.m as { message?: string }).message))), "oversized refused");
    // Before join, no other message passes; unknown call ids are refused by the API.
    c.dave!.control({ t: "call", call: alice.callId, m: { t: "offer" } });
    await until(() => frames.some((f) => f.frame.t === "call" && (f.frame.m as { code?: string }).code === "not-joined"), "not-joined");
    await expect(calls.bob!.join(`c${"0".repeat(32)}`)).rejects.toMatchObject({ code: "not_found" });
    await expect(calls.bob!.join("c1")).rejects.toMatchObject({ code: "validation_failed" });
    await expect(c.bob!.api.call("POST", "/api/client/v1/calls", { conversationId: groupId, mode: "party" })).rejects.toMatchObject({ code: "validation_failed", status: 400 });
    await expect(c.bob!.api.call("POST", `/api/client/v1/calls/${alice.callId}/join`, { role: "listener" })).rejects.toMatchObject({ code: "conflict" });
    await alice.leave();
  });

  test("calling turned off by the security group (calling.audio) is refused with a clear error", async () => {
    const ctx = w.server.ctx;
    const group = defaultSecurityGroup(ctx, w.networkId);
    const alice = await calls.alice!.start(groupId);
    await updateSecurityGroupSettings(ctx, w.networkId, group.id, { ...group.settings, calling: { ...group.settings.calling, audio: false } });
    try {
      const e = (await calls.bob!.start(groupId).catch((x: unknown) => x)) as OutpostError;
      expect(e).toBeInstanceOf(OutpostError);
      expect(e.code).toBe("forbidden");
      expect(e.message).toContain("calling.audio");
      await expect(calls.bob!.join(alice.callId)).rejects.toMatchObject({ code: "forbidden" });
    } finally {
      await updateSecurityGroupSettings(ctx, w.networkId, group.id, group.settings);
    }
    await alice.leave();
  });

  test("calling.video off and calling.forceTcp on reach the grant: audio only, over the node's TCP port", async () => {
    const ctx = w.server.ctx;
    const group = defaultSecurityGroup(ctx, w.networkId);
    await updateSecurityGroupSettings(ctx, w.networkId, group.id, { ...group.settings, calling: { audio: true, video: false, forceTcp: true } });
    try {
      const call = await calls.alice!.start(groupId, { send: ["audio", "video"], receive: { audio: 1 } });
      expect(call.ticket.kinds).toEqual({ audio: true, video: false, screen: false });
      expect(call.ticket.forceTcp).toBe(true);
      await expect(call.sendRtp("video", new Uint8Array(10))).rejects.toThrow(/not sending video/);
      const pair = call.participant.pc.iceTransports[0]!.connection.nominated!;
      expect(pair.protocol.type).toBe("tcp");
      // Asking the node directly for video with this grant is refused there as well.
      const raw = await c.bob!.api.call<{ callId: string; token: string }>("POST", `/api/client/v1/calls/${call.callId}/join`, {});
      const frames = collect(c.bob!, "control");
      c.bob!.control({ t: "call", call: raw.callId, m: { t: "join", token: raw.token, send: ["video"], receive: [] } });
      await until(() => frames.some((f) => f.frame.t === "call-closed"), "bob refused");
      expect(frames.find((f) => f.frame.t === "call")!.frame.m).toMatchObject({ t: "error", code: "kind-not-allowed" });
      await call.leave();
    } finally {
      await updateSecurityGroupSettings(ctx, w.networkId, group.id, group.settings);
    }
  });

  test("a server with calling off says so", async () => {
    const off = await startWorld();
    try {
      await off.addUsers(["erin", "finn"]);
      const erin = await off.client("erin");
      const dm = await erin.openDirect({ username: "finn" });
      const e = (await erin.api.call("POST", "/api/client/v1/calls", { conversationId: dm.id }).catch((x: unknown) => x)) as OutpostError;
      expect(e).toMatchObject({ code: "unavailable", status: 503 });
      expect(e.message).toMatch(/calling is off/);
    } finally {
      await off.close();
    }
  });

  test(`the ${callLimits.callParticipants + 1}st participant is refused; a broadcast takes ${callLimits.broadcastSenders} senders and listeners beyond`, async () => {
    const names = Array.from({ length: callLimits.callParticipants }, (_, i) => `crowd${String(i).padStart(3, "0")}`);
    await w.addUsers(names, { cheapHash: true });
    const crowd: OutpostClient[] = [];
    for (let i = 0; i < names.length; i += 10) crowd.push(...(await Promise.all(names.slice(i, i + 10).map((n) => w.client(n, { connect: false, prekeyCount: 1 })))));
    const alicePrincipal = { deviceId: c.alice!.deviceId, userId: c.alice!.userId, networkId: w.networkId, securityGroupId: w.users.get("alice")!.securityGroupId };
    const room = await createConversation(w.server.ctx, alicePrincipal, "room", { title: "all hands", memberIds: crowd.map((x) => x.userId) });
    const start = await c.alice!.api.call<{ callId: string }>("POST", "/api/client/v1/calls", { conversationId: room.id });
    // 99 more make 100 (their tokens count until they expire or are used).
    for (const x of crowd.slice(0, 99)) await x.api.call("POST", `/api/client/v1/calls/${start.callId}/join`, {});
    const e = (await crowd[99]!.api.call("POST", `/api/client/v1/calls/${start.callId}/join`, {}).catch((x: unknown) => x)) as OutpostError;
    expect(e.code).toBe("conflict");
    expect(e.status).toBe(409);
    expect(e.message).toContain("100 participants");
    expect(e.details).toEqual([expect.objectContaining({ path: "callId", rule: "call_full" })]);
    // The same device asking again replaces its own place instead of taking another.
    await crowd[0]!.api.call("POST", `/api/client/v1/calls/${start.callId}/join`, {});

    const bc = await c.alice!.api.call<{ callId: string; role: string }>("POST", "/api/client/v1/calls", { conversationId: room.id, mode: "broadcast" });
    expect(bc.role).toBe("sender");
    for (const x of crowd.slice(0, 4)) expect((await x.api.call<{ role: string }>("POST", `/api/client/v1/calls/${bc.callId}/join`, { role: "sender" })).role).toBe("sender");
    await expect(crowd[4]!.api.call("POST", `/api/client/v1/calls/${bc.callId}/join`, { role: "sender" })).rejects.toMatchObject({ code: "conflict", details: [expect.objectContaining({ rule: "senders_full" })] });
    const listener = await crowd[4]!.api.call<{ role: string; kinds: unknown }>("POST", `/api/client/v1/calls/${bc.callId}/join`, {});
    expect(listener.role).toBe("listener");
  }, 120_000);

  test(`one device holds at most ${MAX_CALLS_PER_DEVICE} calls at once (tokens are state on the node)`, async () => {
    const started: string[] = [];
    for (let i = 0; i < MAX_CALLS_PER_DEVICE; i++) started.push((await c.bob!.api.call<{ callId: string }>("POST", "/api/client/v1/calls", { conversationId: groupId })).callId);
    const e = (await c.bob!.api.call("POST", "/api/client/v1/calls", { conversationId: groupId }).catch((x: unknown) => x)) as OutpostError;
    expect(e).toMatchObject({ code: "rate_limited", status: 429 });
    expect(e.details).toEqual([expect.objectContaining({ rule: "calls_per_device" })]);
    // Asking again for a call it already holds is not another call.
    await c.bob!.api.call("POST", `/api/client/v1/calls/${started[0]}/join`, {});
  });
});

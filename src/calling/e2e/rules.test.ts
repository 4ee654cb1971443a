// The rules of the calling node, driven through its real control channel and
// signalling WebSocket: key rotation, security-group switches, participant limits,
// broadcast mode, pausing, and bad or flooding input that must not hurt it.
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RtpHeader } from "werift";
import { defaultSecurityGroupSettings } from "../../modules/security-groups/settings.ts";
import { CallKeyring, FrameError, type CallKey } from "../frame-crypto.ts";
import { joinGrantFor } from "../grants.ts";
import { CallJoinError, type CallParticipant, type ReceivedMedia } from "../participant.ts";
import { callLimits } from "../signalling.ts";
import { collect, rawJoin, sharedKey, startTestNode, syntheticPayload, until, type TestNode } from "./support.ts";

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  await t.stop();
});

describe("end-to-end keys", () => {
  test("a participant leaving makes the key owner rotate; the old key no longer decrypts", async () => {
    const alice = await t.join({ callId: "rot", participantId: "alice" });
    const bob = await t.join({ callId: "rot", participantId: "bob" });
    const carol = await t.join({ callId: "rot", participantId: "carol" });
    const k0 = await sharedKey(alice.keyring, bob.keyring, carol.keyring);
    // What carol could keep after leaving: the key she had.
    const kept = new CallKeyring();
    await kept.install(k0);
    // Alice owns the call's keys; the new key reaches bob (in an encrypted call message, later).
    const rotated: CallKey[] = [];
    alice.ownKeys((k) => {
      rotated.push(k);
      void bob.keyring.install(k);
    });
    await until(() => bob.slots.some((s) => s.participantId === "alice"), 5000, "bob's slot for alice");
    const atBob: ReceivedMedia[] = [];
    bob.onMedia((m) => m.from === "alice" && atBob.push(m));

    await alice.sendRtp("audio", syntheticPayload("alice", "audio", 0));
    await until(() => atBob.length === 1, 3000, "first frame");
    expect(atBob[0]!.keyId).toBe(k0.keyId);
    expect((await kept.decrypt(atBob[0]!.wire)).length).toBe(80);

    await carol.leave();
    await until(() => rotated.length === 1 && bob.keyring.current === rotated[0]!.keyId, 3000, "rotation");
    expect(rotated[0]!.keyId).not.toBe(k0.keyId);
    const payload = syntheticPayload("alice", "audio", 1);
    await alice.sendRtp("audio", payload);
    await until(() => atBob.length === 2, 3000, "frame after rotation");
    expect(atBob[1]!.keyId).toBe(rotated[0]!.keyId);
    expect(Buffer.from(atBob[1]!.payload).equals(Buffer.from(payload))).toBe(true);
    await expect(kept.decrypt(atBob[1]!.wire)).rejects.toBeInstanceOf(FrameError);
    // A flipped bit anywhere in a frame is refused, not decrypted into something else.
    const tampered = new Uint8Array(atBob[1]!.wire);
    tampered[tampered.length - 1]! ^= 1;
    await expect(bob.keyring.decrypt(tampered)).rejects.toThrow("authentication");
    await alice.leave();
    await bob.leave();
  });
});

describe("security-group switches, enforced at join", () => {
  test("audio disabled by the security group refuses the join", async () => {
    const group = defaultSecurityGroupSettings();
    group.calling.audio = false;
    const token = await t.grant(joinGrantFor(group.calling, { callId: "sg", participantId: "muted" }));
    const err = await t
      .join({ callId: "unused", participantId: "unused" }, { token, send: ["audio"], receive: { audio: 2 } })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(CallJoinError);
    expect((err as CallJoinError).code).toBe("kind-not-allowed");
    expect(t.node.sfu.calls.has("sg")).toBe(false);
  });

  test("video disabled: sending video is refused, an audio-only join is accepted", async () => {
    const group = defaultSecurityGroupSettings();
    group.calling.video = false;
    const g = joinGrantFor(group.calling, { callId: "sg2", participantId: "novideo" });
    const refused = await rawJoin(t.signallingUrl, await t.grant(g), ["audio", "video"], ["audio"]);
    expect(refused.reply).toMatchObject({ t: "error", code: "kind-not-allowed" });
    const ok = await rawJoin(t.signallingUrl, await t.grant(g), ["audio"], ["audio"]);
    expect(ok.reply).toMatchObject({ t: "joined", participantId: "novideo" });
    ok.ws.close();
  });

  test("force-TCP from the group: the node's answer carries no UDP candidate and media uses the shared port", async () => {
    const group = defaultSecurityGroupSettings();
    group.calling.forceTcp = true;
    const p = await t.join(joinGrantFor(group.calling, { callId: "sg3", participantId: "tcp-only" }), { forceTcp: true });
    const answer = p.pc.remoteDescription!.sdp;
    expect(answer).toMatch(/ tcp .* tcptype passive/);
    expect(answer).not.toMatch(/a=candidate:\S+ 1 udp /);
    expect(p.pc.iceTransports[0]!.connection.nominated!.remoteCandidate.port).toBe(t.node.tcpPort);
    await p.leave();
  });
});

describe("limits", () => {
  test("the 101st participant of a call is refused; a seat that frees up can be taken", async () => {
    const joined: WebSocket[] = [];
    for (let i = 0; i < callLimits.callParticipants; i++) {
      const r = await rawJoin(t.signallingUrl, await t.grant({ callId: "big", participantId: `p${i}` }));
      expect(r.reply.t).toBe("joined");
      joined.push(r.ws);
    }
    const extra = await rawJoin(t.signallingUrl, await t.grant({ callId: "big", participantId: "p100" }));
    expect(extra.reply).toMatchObject({ t: "error", code: "call-full" });
    joined.pop()!.close();
    await until(() => t.node.sfu.calls.get("big")!.participants.size === 99, 3000, "seat freed");
    const again = await rawJoin(t.signallingUrl, await t.grant({ callId: "big", participantId: "p100" }));
    expect(again.reply.t).toBe("joined");
    for (const ws of [...joined, again.ws]) ws.close();
    await until(() => !t.node.sfu.calls.has("big"), 5000, "call gone");
  });

  test("broadcast: at most 5 senders, up to 500 in all, listeners never send", async () => {
    const socks: WebSocket[] = [];
    const grant = (i: number, role: "sender" | "listener") => t.grant({ callId: "cast", participantId: `b${i}`, mode: "broadcast", role });
    for (let i = 0; i < callLimits.broadcastSenders; i++) {
      const r = await rawJoin(t.signallingUrl, await grant(i, "sender"));
      expect(r.reply.t).toBe("joined");
      socks.push(r.ws);
    }
    const sixth = await rawJoin(t.signallingUrl, await grant(5, "sender"));
    expect(sixth.reply).toMatchObject({ code: "senders-full" });
    const talker = await rawJoin(t.signallingUrl, await grant(6, "listener"), ["audio"], ["audio"]);
    expect(talker.reply).toMatchObject({ code: "kind-not-allowed" });
    for (let i = socks.length; i < callLimits.broadcastParticipants; i++) {
      const r = await rawJoin(t.signallingUrl, await grant(i + 10, "listener"), [], ["audio", "video"]);
      expect(r.reply.t).toBe("joined");
      socks.push(r.ws);
    }
    const over = await rawJoin(t.signallingUrl, await grant(9999, "listener"), [], ["audio"]);
    expect(over.reply).toMatchObject({ code: "call-full" });
    // A plain call cannot be joined with a broadcast grant of the same id, nor the other way round.
    const mixed = await rawJoin(t.signallingUrl, await t.grant({ callId: "cast", participantId: "x", mode: "call" }));
    expect(mixed.reply).toMatchObject({ code: "mode-mismatch" });
    for (const ws of socks) ws.close();
    await until(() => !t.node.sfu.calls.has("cast"), 10_000, "broadcast gone");
  }, 60_000);
});

describe("pausing", () => {
  test("a subscriber pauses and resumes one participant's audio", async () => {
    const a = await t.join({ callId: "pause", participantId: "a" });
    const b = await t.join({ callId: "pause", participantId: "b" });
    await sharedKey(a.keyring, b.keyring);
    await until(() => b.slots.some((s) => s.participantId === "a"), 3000, "slot");
    let got = 0;
    b.onMedia(() => got++);
    const burst = async (n: number) => {
      for (let i = 0; i < n; i++) await a.sendRtp("audio", syntheticPayload("a", "audio", i));
      await Bun.sleep(300);
    };
    await burst(5);
    expect(got).toBe(5);
    b.pause("a", "audio");
    await until(() => b.slots.every((s) => s.participantId !== "a"), 3000, "slot released");
    await burst(5);
    expect(got).toBe(5);
    b.resume("a", "audio");
    await until(() => b.slots.some((s) => s.participantId === "a"), 3000, "slot again");
    await burst(5);
    expect(got).toBe(10);
    await a.leave();
    await b.leave();
  });
});

describe("bad input", () => {
  test("control channel: no secret, wrong secret, bad grant bodies", async () => {
    expect((await fetch(t.node.url + "/control/stats")).status).toBe(401);
    expect((await t.control("/control/stats", { secret: "0".repeat(64) })).status).toBe(401);
    const bad = async (body: string) => {
      const r = await t.control("/control/join-grants", { method: "POST", body });
      return { status: r.status, body: (await r.json()) as { error: { code: string; message: string } } };
    };
    expect((await bad("{not json")).status).toBe(400);
    const missing = await bad(JSON.stringify({ participantId: "x", kinds: { audio: true, video: true, screen: true } }));
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/^callId/);
    const wrongType = await bad(JSON.stringify({ callId: "c", participantId: "x", kinds: { audio: "yes", video: true, screen: true } }));
    expect(wrongType.body.error.message).toMatch(/^kinds\.audio/);
    const extra = await bad(JSON.stringify({ callId: "c", participantId: "x", kinds: { audio: true, video: true, screen: true }, admin: true }));
    expect(extra.status).toBe(400);
    expect((await t.control("/control/calls/nope/end", { method: "POST" })).status).toBe(404);
  });

  test("tokens: unknown and reused tokens are refused", async () => {
    const unknown = await rawJoin(t.signallingUrl, "x".repeat(32));
    expect(unknown.reply).toMatchObject({ code: "bad-token" });
    const token = await t.grant({ callId: "once", participantId: "u" });
    const first = await rawJoin(t.signallingUrl, token);
    expect(first.reply.t).toBe("joined");
    const replay = await rawJoin(t.signallingUrl, token);
    expect(replay.reply).toMatchObject({ code: "bad-token" });
    first.ws.close();
  });

  test("malformed messages get clear errors; a flood is cut off; the node keeps serving", async () => {
    const ws = new WebSocket(t.signallingUrl);
    await new Promise((r) => (ws.onopen = r));
    const c = collect(ws);
    ws.send("{not json");
    ws.send(JSON.stringify({ t: "dance" }));
    ws.send(JSON.stringify({ t: "pause", participantId: 5, kind: "audio" }));
    ws.send(JSON.stringify({ t: "leave" }));
    await until(() => c.frames.length === 4, 3000, "four errors");
    expect(c.frames.map((f) => f.code)).toEqual(["malformed", "malformed", "malformed", "not-joined"]);
    expect(c.frames[2]!.message).toMatch(/^participantId/);
    for (let i = 0; i < 400; i++) ws.send(JSON.stringify({ t: "ping", n: i }));
    expect(await c.closed).toBe(1008);
    expect(c.frames.some((f) => f.code === "rate-limited")).toBe(true);

    const big = new WebSocket(t.signallingUrl);
    await new Promise((r) => (big.onopen = r));
    const bc = collect(big);
    big.send("x".repeat(callLimits.maxFrameBytes + 10));
    expect(await bc.closed).toBe(1009);

    const after = await rawJoin(t.signallingUrl, await t.grant({ callId: "alive", participantId: "z" }));
    expect(after.reply.t).toBe("joined");
    after.ws.close();
  });

  test("offers that do not match the join, or are not SDP, are refused", async () => {
    const join = async (id: string) => {
      const r = await rawJoin(t.signallingUrl, await t.grant({ callId: "offers", participantId: id }), ["audio"], ["audio"]);
      expect(r.reply.t).toBe("joined");
      return r.ws;
    };
    const send = async (ws: WebSocket, msg: object) => {
      const c = collect(ws);
      ws.send(JSON.stringify(msg));
      await until(() => c.frames.length > 0, 3000, "reply");
      return c.frames[0]!;
    };
    expect(await send(await join("o1"), { t: "offer", sdp: "v=0 this is not an SDP", send: { audio: "0" }, receive: { audio: [], video: [], screen: [] } })).toMatchObject({ code: "bad-offer" });
    expect(await send(await join("o2"), { t: "offer", sdp: "v=0 whatever sdp", send: { video: "0" }, receive: { audio: [], video: [], screen: [] } })).toMatchObject({
      code: "bad-offer",
      message: expect.stringMatching(/video/),
    });
    expect(await send(await join("o3"), { t: "offer", sdp: "v=0 whatever sdp", send: {}, receive: { audio: ["1"], video: [], screen: ["1"] } })).toMatchObject({ code: "bad-offer" });
  });

  test("an SRTP packet with a broken authentication tag is dropped by the node; the intact one is forwarded", async () => {
    const a = await t.join({ callId: "srtp", participantId: "a" });
    const b = await t.join({ callId: "srtp", participantId: "b" });
    await sharedKey(a.keyring, b.keyring);
    await until(() => b.slots.some((s) => s.participantId === "a"), 3000, "slot");
    let got = 0;
    b.onMedia(() => got++);
    const dtls = a.pc.dtlsTransports[0]!;
    const sender = a.pc.getTransceivers().find((x) => x.sender.track)!.sender;
    const header = new RtpHeader({ ssrc: sender.ssrc, payloadType: sender.codec!.payloadType, sequenceNumber: 100, timestamp: 96000, marker: true });
    const srtp = dtls.srtp.encrypt(Buffer.from(await a.keyring.encrypt(syntheticPayload("a", "audio", 0))), header);
    const tampered = Buffer.from(srtp);
    tampered[tampered.length - 1]! ^= 0x01;
    const source = () => t.node.sfu.calls.get("srtp")!.participants.get("a")!.sources.get("audio")!;
    await dtls.iceTransport.connection.send(tampered);
    await Bun.sleep(200);
    expect(source().packetsIn).toBe(0);
    await dtls.iceTransport.connection.send(srtp);
    await until(() => got === 1, 3000, "the intact packet");
    expect(source().packetsIn).toBe(1);
    await a.leave();
    await b.leave();
  });

  test("a sender flooding media is held to its budget; the call goes on", async () => {
    const a = await t.join({ callId: "flood", participantId: "a" });
    const b = await t.join({ callId: "flood", participantId: "b" });
    await sharedKey(a.keyring, b.keyring);
    await until(() => b.slots.some((s) => s.participantId === "a"), 3000, "slot");
    let got = 0;
    b.onMedia(() => got++);
    const payload = syntheticPayload("a", "audio", 0);
    const started = performance.now();
    // About 2000 packets/s for a second: ten times the budget of an audio source.
    for (let i = 0; i < 100; i++) {
      await Promise.all(Array.from({ length: 20 }, () => a.sendRtp("audio", payload)));
      await Bun.sleep(5);
    }
    const seconds = (performance.now() - started) / 1000;
    const source = t.node.sfu.calls.get("flood")!.participants.get("a")!.sources.get("audio")!;
    // Loopback UDP drops some of a burst this size; wait until what arrives has arrived.
    let seen = -1;
    while (seen !== source.packetsIn) {
      seen = source.packetsIn;
      await Bun.sleep(300);
    }
    expect(source.packetsIn).toBeGreaterThan(1500);
    // 400 of burst plus 200/s while the flood lasted, nothing more.
    expect(source.packetsIn - source.dropped).toBeLessThanOrEqual(400 + Math.ceil(200 * (seconds + 1)));
    expect(source.dropped).toBeGreaterThan(0);
    await Bun.sleep(1100);
    const before = got;
    for (let i = 0; i < 10; i++) await a.sendRtp("audio", syntheticPayload("a", "audio", i));
    await until(() => got === before + 10, 3000, "normal media after the flood");
    await a.leave();
    await b.leave();
  });

  test("garbage on the media ports does not disturb a running call", async () => {
    const a = await t.join({ callId: "noise", participantId: "a" });
    const b = await t.join({ callId: "noise", participantId: "b" });
    await sharedKey(a.keyring, b.keyring);
    await until(() => b.slots.some((s) => s.participantId === "a"), 3000, "slot");
    const udpPort = Number(/ udp \d+ 127\.0\.0\.1 (\d+) typ host/.exec(a.pc.remoteDescription!.sdp)![1]);
    const udp = createSocket("udp4");
    for (let i = 0; i < 300; i++) {
      const junk = crypto.getRandomValues(new Uint8Array(20 + (i % 200)));
      // Every first byte: looks like STUN, DTLS, RTP/RTCP or nothing at all.
      junk[0] = i % 256;
      udp.send(junk, udpPort, "127.0.0.1");
    }
    for (let i = 0; i < 20; i++) {
      const s = connect(t.node.tcpPort, "127.0.0.1");
      s.on("error", () => {});
      s.write(Buffer.from(crypto.getRandomValues(new Uint8Array(64 + i * 100))));
      s.end();
    }
    await Bun.sleep(300);
    udp.close();
    let got = 0;
    b.onMedia(() => got++);
    for (let i = 0; i < 10; i++) await a.sendRtp("audio", syntheticPayload("a", "audio", i));
    await until(() => got === 10, 3000, "media after garbage");
    await a.leave();
    await b.leave();
  });
});

describe("cleanup", () => {
  test("once every call has ended the node holds nothing: no calls, UDP ports or TCP registrations", async () => {
    await until(() => t.node.sfu.calls.size === 0, 5000, "calls gone");
    const stats = (await (await t.control("/control/stats")).json()) as { udpPortsInUse: number; tcp: { registered: number } };
    expect(stats.udpPortsInUse).toBe(0);
    expect(stats.tcp.registered).toBe(0);
  });
});

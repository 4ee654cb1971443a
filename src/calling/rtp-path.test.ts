// The node's RTP fast path against werift itself: the header parser must agree with werift's on
// every input (valid, truncated, random), and a forwarded packet must leave the writer as exactly
// the SRTP bytes werift's own RTCRtpSender.sendRtp produces for the same sender state.
import "../reflect.ts";
import { randomBytes } from "node:crypto";
import { expect, test } from "vitest";
import {
  Event,
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  RTCDtlsTransport,
  RTCRtpCodecParameters,
  RTCPeerConnection,
  RTCRtpReceiver,
  RTCRtpSender,
  RTP_EXTENSION_URI,
  RtpHeader,
  RtpPacket,
  SrtpSession,
} from "werift";
import { mediaCodecs, mediaHeaderExtensions } from "./node-peer.ts";
import { cloneRtpPacket, ForwardWriter, installRtpFastPath, parseRtpHeader, quickenEvent, quickenReceivePath, weriftCloneRtpPacket, weriftParseRtpHeader } from "./rtp-path.ts";

function outcome(parse: (b: Buffer) => RtpHeader, raw: Buffer) {
  try {
    const h = parse(raw);
    return { ...h, extensions: h.extensions.map((e) => ({ id: e.id, payload: Buffer.from(e.payload).toString("hex") })) };
  } catch {
    return "throws";
  }
}

function packet(opts: { cc?: number; ext?: Buffer; profile?: number; padding?: number; marker?: boolean }): Buffer {
  const cc = opts.cc ?? 0;
  const head = Buffer.alloc(12 + 4 * cc);
  head[0] = 0x80 | (opts.padding ? 0x20 : 0) | (opts.ext ? 0x10 : 0) | cc;
  head[1] = (opts.marker ? 0x80 : 0) | 111;
  head.writeUInt16BE(65535, 2);
  head.writeUInt32BE(0xdeadbeef, 4);
  head.writeUInt32BE(0x01020304, 8);
  for (let i = 0; i < cc; i++) head.writeUInt32BE(1000 + i, 12 + 4 * i);
  const parts = [head];
  if (opts.ext) {
    const x = Buffer.alloc(4);
    x.writeUInt16BE(opts.profile ?? 0xbede, 0);
    x.writeUInt16BE(Math.ceil(opts.ext.length / 4), 2);
    const body = Buffer.alloc(4 * Math.ceil(opts.ext.length / 4));
    opts.ext.copy(body);
    parts.push(x, body);
  }
  parts.push(Buffer.from("payload-bytes"));
  if (opts.padding) parts.push(Buffer.from([0, 0, opts.padding]));
  return Buffer.concat(parts);
}

const crafted = [
  packet({}),
  packet({ marker: true, cc: 1 }),
  packet({ cc: 15 }),
  // one-byte extensions: mid "1" (id 1), audio level (id 2), padding bytes between, then the id-15 stop
  packet({ ext: Buffer.from([0x10, 0x31, 0x00, 0x20, 0x9f, 0x00, 0x00]) }),
  packet({ cc: 2, ext: Buffer.from([0x10, 0x31, 0xf0, 0x55]), padding: 3 }),
  // two-byte extensions (RFC 8285 0x100x) and an unknown profile (one opaque block)
  packet({ ext: Buffer.from([0x05, 0x02, 0xaa, 0xbb, 0x00, 0x07, 0x00]), profile: 0x1000 }),
  packet({ ext: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), profile: 0x1234 }),
  // an extension length pointing past the end of the packet
  Buffer.concat([packet({}).subarray(0, 12), Buffer.from([0xbe, 0xde, 0x00, 0x09, 0x10, 0x31])]).fill(0x90, 0, 1),
  Buffer.concat([packet({}).subarray(0, 12), Buffer.from([0x10, 0x00, 0x00, 0x09, 0x05, 0x09, 0x01])]).fill(0x90, 0, 1),
];

test("parses every valid, truncated and random packet exactly as werift does (or fails where it fails)", () => {
  let compared = 0;
  for (const p of crafted) {
    for (let len = 0; len <= p.length; len++) {
      const raw = p.subarray(0, len);
      expect(outcome(parseRtpHeader, raw), `packet ${p.toString("hex")} cut at ${len}`).toEqual(outcome(weriftParseRtpHeader, raw));
      compared++;
    }
  }
  for (let i = 0; i < 3000; i++) {
    const raw = randomBytes(i % 48);
    // Mostly RTP-looking first bytes, so the extension and CSRC branches are reached often.
    if (raw.length && i % 4 !== 0) raw[0] = 0x80 | (raw[0]! & 0x3f);
    expect(outcome(parseRtpHeader, raw), raw.toString("hex")).toEqual(outcome(weriftParseRtpHeader, raw));
    compared++;
  }
  expect(compared).toBeGreaterThan(3000);
  // Valid packets do parse (the comparison above is not between two failures).
  expect(parseRtpHeader(crafted[3]!).extensions.map((e) => e.id)).toEqual([1, 2]);
});

test("a cloned packet is the copy werift's clone makes: equal header fields, its own header object, the same payload", () => {
  for (const p of crafted) {
    const packet = RtpPacket.deSerialize(p);
    (packet.header as unknown as Record<string, unknown>).extra = "kept";
    const ours = cloneRtpPacket.call(packet);
    const theirs = weriftCloneRtpPacket.call(packet);
    expect(ours).toEqual(theirs);
    expect(ours.header).toBeInstanceOf(RtpHeader);
    expect(ours.header).not.toBe(packet.header);
    expect(ours.payload).toBe(packet.payload);
    ours.header.sequenceNumber = 1;
    expect(packet.header.sequenceNumber).toBe(65535);
  }
});

test("once installed, werift's own RTP and SRTP parsing and cloning use the fast path", () => {
  installRtpFastPath();
  expect((RtpHeader as unknown as { deSerialize: unknown }).deSerialize).toBe(parseRtpHeader);
  expect(RtpPacket.prototype.clone).toBe(cloneRtpPacket);
  const p = RtpPacket.deSerialize(packet({ cc: 2, ext: Buffer.from([0x10, 0x31]), padding: 3 }));
  expect(p.header.csrc).toEqual([1000, 1001]);
  expect(p.payload.toString()).toBe("payload-bytes");
});

/** A real werift DTLS transport object whose SRTP session is keyed by hand and whose ICE send records the datagrams. */
function recordingTransport(profile: 1 | 7, keys: { key: Buffer; salt: Buffer }) {
  const sent: Buffer[] = [];
  const t = Object.create(RTCDtlsTransport.prototype) as RTCDtlsTransport & Record<string, unknown>;
  Object.assign(t, {
    state: "connected",
    config: {},
    bytesSent: 0,
    packetsSent: 0,
    srtp: new SrtpSession({ profile, keys: { localMasterKey: keys.key, localMasterSalt: keys.salt, remoteMasterKey: keys.key, remoteMasterSalt: keys.salt } }),
    iceTransport: { connection: { send: async (b: Buffer) => void sent.push(Buffer.from(b)) } },
  });
  return { t, sent };
}

function sender(kind: "audio" | "video", transport: RTCDtlsTransport, extensions: { uri: string; id: number }[]) {
  const sender = new RTCRtpSender(kind);
  // werift's sender fields (private or read-only in its types) as its negotiation sets them.
  const s = sender as unknown as Record<string, unknown>;
  s.ssrc = 0x11223344;
  s.mid = "3";
  s.codec =
    kind === "audio"
      ? new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2, payloadType: 111 })
      : new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, payloadType: 96, rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }] });
  s.headerExtensions = extensions;
  s.dtlsTransport = transport;
  // Sender reports are timer-driven and not what is compared here.
  s.rtcpRunning = true;
  return sender;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

for (const [name, profile] of [
  ["AES-CM/HMAC-SHA1-80", ProtectionProfileAes128CmHmacSha1_80],
  ["AEAD AES-128-GCM", ProtectionProfileAeadAes128Gcm],
] as const) {
  for (const kind of ["audio", "video"] as const) {
    test(`${kind}, ${name}: the writer sends the very SRTP bytes werift's sendRtp sends, and keeps the sender's state as werift does`, async () => {
      const keys = { key: randomBytes(16), salt: randomBytes(profile === ProtectionProfileAeadAes128Gcm ? 12 : 14) };
      const exts = [
        { uri: RTP_EXTENSION_URI.sdesMid, id: 1 },
        { uri: RTP_EXTENSION_URI.audioLevelIndication, id: 2 },
      ];
      const ref = recordingTransport(profile, keys);
      const ours = recordingTransport(profile, keys);
      const a = sender(kind, ref.t, exts);
      const b = sender(kind, ours.t, exts);
      const writer = new ForwardWriter(b);
      // Sequence numbers crossing the 16-bit wrap (SRTP's rollover counter), a new source (rebase), markers.
      const incoming: RtpHeader[] = [];
      for (let i = 0; i < 40; i++) incoming.push(new RtpHeader({ marker: i % 7 === 0, payloadType: 100, sequenceNumber: (65520 + i) & 0xffff, timestamp: (0xfffff000 + i * 960) >>> 0, ssrc: 0xaaaa }));
      for (let i = 0; i < 10; i++) incoming.push(new RtpHeader({ payloadType: 100, sequenceNumber: 500 + i, timestamp: 77 + i * 960, ssrc: 0xbbbb }));
      for (const [i, h] of incoming.entries()) {
        if (i === 40) {
          a.replaceRTP(h, true);
          b.replaceRTP(h, true);
        }
        const payload = randomBytes(20 + (i % 60));
        await a.sendRtp(new RtpPacket(new RtpHeader({ marker: h.marker, payloadType: h.payloadType, sequenceNumber: h.sequenceNumber, timestamp: h.timestamp, ssrc: h.ssrc, csrc: [42] }), payload));
        writer.send(h, payload, 42, Date.now());
      }
      await tick();
      expect(ours.sent.length).toBe(incoming.length);
      expect(ours.sent.map((x) => x.toString("hex"))).toEqual(ref.sent.map((x) => x.toString("hex")));
      const field = (s: RTCRtpSender, f: string) => (s as unknown as Record<string, unknown>)[f];
      for (const f of ["sequenceNumber", "timestamp", "packetCount", "octetCount", "headerBytesSent"]) expect(field(b, f), f).toBe(field(a, f));
      // NACK history: for video (NACK negotiated) the same packets, serialized alike, at the same
      // places; werift also keeps audio packets nobody can ask for again (Opus has no NACK here).
      const cache = (s: RTCRtpSender) => (s as unknown as { rtpCache: (RtpPacket | undefined)[] }).rtpCache.map((p) => (p ? p.serialize().toString("hex") : null));
      if (kind === "video") {
        expect(cache(b)).toEqual(cache(a));
        expect(cache(b).filter(Boolean).length).toBe(10);
      } else expect(cache(b).filter(Boolean)).toEqual([]);
      // And the receiving side reads the forwarded packet: csrc = the sender's roster tag, mid extension.
      const rx = new SrtpSession({ profile, keys: { localMasterKey: keys.key, localMasterSalt: keys.salt, remoteMasterKey: keys.key, remoteMasterSalt: keys.salt } });
      // (in order: the receiver follows the sender's rollover counter across the wrap)
      const plain = ours.sent.map((x) => rx.decrypt(x));
      const got = RtpPacket.deSerialize(plain.at(-1)!);
      expect(got.header.csrc).toEqual([42]);
      expect(got.header.ssrc).toBe(0x11223344);
      expect(got.header.extensions).toEqual([{ id: 1, payload: Buffer.from("3") }]);
    });
  }
}

test("senders using what the writer does not write (transport-wide CC) go through werift's sendRtp, with the same result", async () => {
  const keys = { key: randomBytes(16), salt: randomBytes(14) };
  const exts = [
    { uri: RTP_EXTENSION_URI.sdesMid, id: 1 },
    { uri: RTP_EXTENSION_URI.transportWideCC, id: 3 },
  ];
  const ref = recordingTransport(1, keys);
  const ours = recordingTransport(1, keys);
  const a = sender("audio", ref.t, exts);
  const b = sender("audio", ours.t, exts);
  const writer = new ForwardWriter(b);
  for (let i = 0; i < 5; i++) {
    const h = new RtpHeader({ payloadType: 100, sequenceNumber: 10 + i, timestamp: i * 960, ssrc: 5 });
    const payload = randomBytes(30);
    await a.sendRtp(new RtpPacket(new RtpHeader({ ...h, csrc: [7] }), payload));
    writer.send(h, payload, 7, Date.now());
    await tick();
  }
  expect(ours.sent.map((x) => x.toString("hex"))).toEqual(ref.sent.map((x) => x.toString("hex")));
  const got = RtpPacket.deSerialize(new SrtpSession({ profile: 1, keys: { localMasterKey: keys.key, localMasterSalt: keys.salt, remoteMasterKey: keys.key, remoteMasterSalt: keys.salt } }).decrypt(ours.sent[0]!));
  expect(got.header.extensions.map((e) => e.id)).toEqual([1, 3]);
});

test("nothing is sent before the subscriber's transport is connected", async () => {
  const keys = { key: randomBytes(16), salt: randomBytes(14) };
  const ours = recordingTransport(1, keys);
  (ours.t as unknown as { state: string }).state = "connecting";
  const b = sender("audio", ours.t, [{ uri: RTP_EXTENSION_URI.sdesMid, id: 1 }]);
  new ForwardWriter(b).send(new RtpHeader({ sequenceNumber: 1, ssrc: 5 }), randomBytes(10), 7, Date.now());
  await tick();
  expect(ours.sent).toEqual([]);
  expect((b as unknown as { packetCount: number }).packetCount).toBe(0);
});

test("a quickened werift Event still reaches every subscriber, queued ones included, and nothing once ended", async () => {
  const ev = new Event<[number]>();
  quickenEvent(ev);
  quickenEvent(ev); // twice is once
  const got: string[] = [];
  const a = ev.subscribe((n) => got.push(`a${n}`));
  ev.subscribe((n) => got.push(`b${n}`));
  ev.execute(1);
  expect(got).toEqual(["a1", "b1"]);
  a.unSubscribe();
  ev.execute(2);
  expect(got).toEqual(["a1", "b1", "b2"]);
  // A queued (async) subscriber makes werift's own execute run, in order, after the synchronous ones.
  ev.queuingSubscribe(async (n) => void got.push(`q${n}`));
  ev.execute(3);
  await tick();
  expect(got).toEqual(["a1", "b1", "b2", "b3", "q3"]);
  ev.complete();
  ev.execute(4);
  await tick();
  expect(got).toEqual(["a1", "b1", "b2", "b3", "q3"]);
});

test("a quickened peer connection keeps what werift's receivers would compute per packet, fixed at the negotiated values", async () => {
  const offerer = new RTCPeerConnection({ codecs: mediaCodecs, headerExtensions: mediaHeaderExtensions });
  const node = new RTCPeerConnection({ codecs: mediaCodecs, headerExtensions: mediaHeaderExtensions });
  try {
    offerer.addTransceiver("audio", { direction: "sendonly" });
    offerer.addTransceiver("video", { direction: "sendonly" });
    await offerer.setLocalDescription(await offerer.createOffer());
    await node.setRemoteDescription(offerer.localDescription!);
    await node.setLocalDescription(await node.createAnswer());
    const proto = (name: string) => Object.getOwnPropertyDescriptor(RTCRtpReceiver.prototype, name)!.get!;
    const before = node.getTransceivers().map((t) => ({ twcc: proto("twccEnabled").call(t.receiver), nack: proto("nackEnabled").call(t.receiver) }));
    expect(before.map((b) => !!b.nack)).toEqual([false, true]); // VP8 asks for NACK, Opus does not
    quickenReceivePath(node);
    const after = node.getTransceivers().map((t) => {
      const r = t.receiver as unknown as { twccEnabled: unknown; nackEnabled: unknown; codecs: Record<number, { name: string; mimeType: string }> };
      for (const c of Object.values(r.codecs)) expect(c.name).toBe(c.mimeType.split("/")[1]);
      return { twcc: r.twccEnabled, nack: r.nackEnabled };
    });
    expect(after).toEqual(before);
    const videoCodecs = (node.getTransceivers()[1]!.receiver as unknown as { codecs: Record<number, { name: string }> }).codecs;
    expect(Object.values(videoCodecs).map((c) => c.name)).toContain("VP8");
  } finally {
    await offerer.close();
    await node.close();
  }
});

test("a subscriber whose SRTP state is broken costs that subscriber the packet; the writer does not throw", async () => {
  const keys = { key: randomBytes(16), salt: randomBytes(14) };
  const broken = recordingTransport(1, keys);
  (broken.t as unknown as { srtp: { localContext: { cipher: unknown } } }).srtp.localContext.cipher = null;
  const w = new ForwardWriter(sender("audio", broken.t, [{ uri: RTP_EXTENSION_URI.sdesMid, id: 1 }]));
  expect(w.send(new RtpHeader({ sequenceNumber: 1, ssrc: 5 }), randomBytes(10), 7, Date.now())).toBe(false);
  const fine = recordingTransport(1, keys);
  const w2 = new ForwardWriter(sender("audio", fine.t, [{ uri: RTP_EXTENSION_URI.sdesMid, id: 1 }]));
  expect(w2.send(new RtpHeader({ sequenceNumber: 1, ssrc: 5 }), randomBytes(10), 7, Date.now())).toBe(true);
  await tick();
  expect(broken.sent).toEqual([]);
  expect(fine.sent.length).toBe(1);
});

// The node's per-packet RTP path: a faster drop-in for werift's RTP header parser (run twice
// for every packet taken in) and the writer that puts a forwarded packet straight into one
// subscriber's SRTP transport, without werift's per-packet sender bookkeeping.
import "../reflect.ts";
import { createCipheriv, createHmac } from "node:crypto";
import { isIP } from "node:net";
import type { RTCPeerConnection, RTCRtpSender } from "werift";
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, RTP_EXTENSION_URI, RtpHeader, RtpPacket } from "werift";

type Extension = { id: number; payload: Buffer };

/**
 * RtpHeader.deSerialize, field for field and quirk for quirk (it never checks the extension
 * block against the buffer's end; a bad length only shows in payloadOffset, which werift's SRTP
 * checks), without werift's bit reader that formats every byte as a string of digits.
 * Short buffers throw as werift's does (Buffer reads past the end throw RangeError).
 */
export function parseRtpHeader(raw: Buffer): RtpHeader {
  const h = new RtpHeader();
  const b0 = raw[0];
  if (b0 === undefined) throw new RangeError("empty RTP packet");
  h.version = b0 >> 6;
  h.padding = (b0 & 0x20) !== 0;
  h.extension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  h.csrcLength = cc;
  const m = raw.readUInt8(1);
  h.marker = (m & 0x80) !== 0;
  h.payloadType = m & 0x7f;
  h.sequenceNumber = raw.readUInt16BE(2);
  h.timestamp = raw.readUInt32BE(4);
  h.ssrc = raw.readUInt32BE(8);
  const csrc: number[] = new Array(cc);
  for (let i = 0; i < cc; i++) csrc[i] = raw.readUInt32BE(12 + 4 * i);
  h.csrc = csrc;
  let off = 12 + 4 * cc;
  if (h.extension) {
    h.extensionProfile = raw.readUInt16BE(off) as RtpHeader["extensionProfile"];
    off += 2;
    const extensionLength = raw.readUInt16BE(off) * 4;
    h.extensionLength = extensionLength;
    off += 2;
    const exts: Extension[] = [];
    const end = off + extensionLength;
    if ((h.extensionProfile as number) === 0xbede) {
      while (off < end) {
        const b = raw[off];
        if (b === 0) {
          off++;
          continue;
        }
        // Past the buffer's end werift reads undefined, i.e. id 0 and length 1: so do we.
        const id = b === undefined ? 0 : b >> 4;
        const len = b === undefined ? 1 : (b & 0x0f) + 1;
        off++;
        if (id === 15) break;
        exts.push({ id, payload: raw.subarray(off, off + len) });
        off += len;
      }
    } else if ((h.extensionProfile as number) === 0x1000) {
      while (off < end) {
        if (raw[off] === 0) {
          off++;
          continue;
        }
        const id = raw[off] as number;
        off++;
        const len = raw[off] as number;
        off++;
        exts.push({ id, payload: raw.subarray(off, off + len) });
        off += len;
      }
    } else {
      const payload = raw.subarray(off, off + extensionLength);
      exts.push({ id: 0, payload });
      off += payload.length;
    }
    h.extensions = exts;
  }
  h.payloadOffset = off;
  if (h.padding) h.paddingSize = raw[raw.length - 1] as number;
  return h;
}

/**
 * RtpPacket.clone (werift's receiver clones every packet it hands to a track): the same shallow
 * copy of the header's own fields as werift's `new RtpHeader({...header})`, without building the
 * spread object and assigning it over again (RtpHeader's prototype has no enumerable members,
 * so for-in sees exactly the own fields).
 */
export function cloneRtpPacket(this: RtpPacket): RtpPacket {
  const src = this.header as unknown as Record<string, unknown>;
  const h = new RtpHeader() as unknown as Record<string, unknown>;
  for (const k in src) h[k] = src[k];
  return new RtpPacket(h as unknown as RtpHeader, this.payload);
}

let installed = false;
const weriftHeader = RtpHeader as unknown as { deSerialize: (raw: Buffer) => RtpHeader };
const weriftPacket = RtpPacket.prototype as unknown as { clone: () => RtpPacket };
/** werift's own parser and clone, kept for the equivalence tests. */
export const weriftParseRtpHeader = weriftHeader.deSerialize.bind(RtpHeader);
export const weriftCloneRtpPacket = weriftPacket.clone;

/**
 * Makes werift parse RTP headers with parseRtpHeader and clone packets with cloneRtpPacket in this
 * process (its SRTP and RTP layers look both up at every packet). Profiling the node showed
 * werift's parser as the largest single cost of taking a packet in, its clone next to it.
 */
export function installRtpFastPath(): void {
  if (installed) return;
  installed = true;
  weriftHeader.deSerialize = parseRtpHeader;
  weriftPacket.clone = cloneRtpPacket;
}

/** The RTCRtpSender fields werift's own sendRtp reads and writes (not all are in its types). */
interface SenderInternals {
  ssrc: number;
  mid?: string;
  rtpStreamId?: string;
  repairedRtpStreamId?: string;
  redRedundantPayloadType?: number;
  codec?: { payloadType: number; rtcpFeedback?: { type: string }[] };
  headerExtensions: { uri: string; id: number }[];
  seqOffset: number;
  timestampOffset: number;
  sequenceNumber?: number;
  timestamp?: number;
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  octetCount: number;
  packetCount: number;
  headerBytesSent: number;
  rtpCache: RtpPacket[];
  rtcpRunning: boolean;
  stopped: boolean;
  runRtcp(): Promise<void>;
  sendRtp(rtp: RtpPacket): Promise<void>;
  dtlsTransport: {
    state: string;
    bytesSent: number;
    packetsSent: number;
    srtp?: { localContext?: SrtpContextInternals };
    iceTransport: { connection: IceConnectionInternals };
    sendRtp(payload: Buffer, header: EncryptableHeader): Promise<number>;
  };
}

/** werift's ICE connection: the nominated pair and, for UDP, the socket under it. */
interface IceConnectionInternals {
  nominated?: {
    remoteAddr: [string, number];
    packetsSent: number;
    bytesSent: number;
    protocol: { transport?: { type?: string; closed?: boolean; socket?: { send(data: Buffer, port: number, address: string): void } } };
  };
  canSendApplicationData(): boolean;
  send(data: Buffer): Promise<void>;
}

/** werift's outgoing SRTP context: the negotiated profile, its session keys, the rollover counters. */
interface SrtpContextInternals {
  profile: number;
  cipher: { srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag?: Buffer };
  getSrtpSsrcState(ssrc: number): { rolloverCounter: number };
  updateRolloverCount(sequenceNumber: number, state: { rolloverCounter: number }): void;
}

/** What werift's SRTP contexts read of a header (both the AES-CM and the AES-GCM profile). */
interface EncryptableHeader {
  ssrc: number;
  sequenceNumber: number;
  serializeSize: number;
  serialize(size: number): Buffer;
}

/** werift's RTP_HISTORY_SIZE: NACKed packets are looked up at sequenceNumber % 128. */
const RTP_HISTORY = 128;
/** Milliseconds between 1900 (NTP's epoch) and 1970. */
const NTP_EPOCH_OFFSET_MS = 2_208_988_800_000;
/** How often the sender-report clock pair (NTP time, RTP timestamp) is refreshed. */
const SR_CLOCK_REFRESH_MS = 20;

interface Plan {
  /** The one-byte header extension block (RFC 8285) carrying the mid, or empty. */
  ext: Buffer;
  payloadType: number;
  nack: boolean;
  /** The header extensions this plan was made for (werift sets them once, at negotiation). */
  made: SenderInternals["headerExtensions"];
}

/**
 * Writes forwarded packets into one subscriber's sender: werift's RTCRtpSender.sendRtp does the
 * same (ssrc, payload type, the sender's sequence/timestamp offsets, the mid extension, SR
 * statistics, NACK history) but rebuilds header-extension lists, sorts them and reads the clock
 * through strings for every packet. Here the header is written straight into bytes, protected
 * with the transport's SRTP keys and rollover state (seal) and sent on the nominated UDP pair
 * (transmit). Senders using anything this writer does not write (transport-wide CC,
 * abs-send-time, RID, RED) go through werift's own sendRtp, other SRTP profiles through
 * werift's SRTP transport, TCP pairs through werift's ICE send.
 */
export class ForwardWriter {
  private readonly s: SenderInternals;
  private plan: Plan | null = null;
  private readonly scratch = Buffer.alloc(12 + 4 + 4 + 20);
  private size = 0;
  private readonly header: EncryptableHeader;
  private clockAt = 0;
  /** The GCM nonce or AES-CM counter block, rewritten for every packet. */
  private readonly iv = Buffer.alloc(16);
  private readonly roc = Buffer.alloc(4);

  constructor(sender: RTCRtpSender) {
    this.s = sender as unknown as SenderInternals;
    const self = this;
    this.header = {
      ssrc: 0,
      sequenceNumber: 0,
      get serializeSize() {
        return self.size;
      },
      // werift's SRTP reads the bytes synchronously (MAC, AAD, copy into the packet), so one scratch buffer serves every packet.
      serialize: () => this.scratch.subarray(0, this.size),
    };
  }

  private makePlan(): Plan | null {
    const s = this.s;
    if (s.redRedundantPayloadType || !s.codec) return null;
    let mid: Buffer | null = null;
    let midId = 0;
    for (const e of s.headerExtensions) {
      switch (e.uri) {
        case RTP_EXTENSION_URI.sdesMid:
          if (s.mid) ((mid = Buffer.from(s.mid)), (midId = e.id));
          break;
        case RTP_EXTENSION_URI.sdesRTPStreamID:
          if (s.rtpStreamId) return null;
          break;
        case RTP_EXTENSION_URI.repairedRtpStreamId:
          if (s.repairedRtpStreamId) return null;
          break;
        case RTP_EXTENSION_URI.transportWideCC:
        case RTP_EXTENSION_URI.absSendTime:
          return null;
      }
    }
    let ext = Buffer.alloc(0);
    if (mid) {
      if (mid.length < 1 || mid.length > 16 || midId < 1 || midId > 14) return null;
      const body = 1 + mid.length;
      const words = Math.ceil(body / 4);
      ext = Buffer.alloc(4 + 4 * words);
      ext.writeUInt16BE(0xbede, 0);
      ext.writeUInt16BE(words, 2);
      ext[4] = (midId << 4) | (mid.length - 1);
      mid.copy(ext, 5);
    }
    return { ext, payloadType: s.codec.payloadType, nack: !!s.codec.rtcpFeedback?.some((f) => f.type === "nack"), made: s.headerExtensions };
  }

  /**
   * Sends one packet of the source: `h` is its header as received, `csrc` the sender's roster tag.
   * Never throws: one subscriber's broken transport must not stop the packet reaching the others
   * (werift's async sendRtp turned such failures into rejected promises).
   */
  send(h: RtpHeader, payload: Buffer, csrc: number, now: number): boolean {
    try {
      this.write(h, payload, csrc, now);
      return true;
    } catch {
      return false;
    }
  }

  private write(h: RtpHeader, payload: Buffer, csrc: number, now: number): void {
    const s = this.s;
    if (s.dtlsTransport?.state !== "connected" || !s.codec) return;
    if (!this.plan || this.plan.made !== s.headerExtensions) this.plan = this.makePlan();
    const plan = this.plan;
    if (!plan) {
      const header = new RtpHeader({ marker: h.marker, payloadType: h.payloadType, sequenceNumber: h.sequenceNumber, timestamp: h.timestamp, ssrc: h.ssrc, csrc: [csrc], padding: false, extension: false, extensions: [] });
      s.sendRtp(new RtpPacket(header, payload)).catch(() => {});
      return;
    }
    const seq = (h.sequenceNumber + s.seqOffset) & 0xffff;
    const ts = (h.timestamp + s.timestampOffset) >>> 0;
    const b = this.scratch;
    const hasExt = plan.ext.length > 0;
    b[0] = 0x80 | (hasExt ? 0x10 : 0) | 1;
    b[1] = (h.marker ? 0x80 : 0) | plan.payloadType;
    b.writeUInt16BE(seq, 2);
    b.writeUInt32BE(ts, 4);
    b.writeUInt32BE(s.ssrc, 8);
    b.writeUInt32BE(csrc >>> 0, 12);
    if (hasExt) plan.ext.copy(b, 16);
    this.size = 16 + plan.ext.length;
    this.header.ssrc = s.ssrc;
    this.header.sequenceNumber = seq;
    // What werift's sendRtp keeps: the offsets of a later replaceRTP start from these, sender reports use the rest.
    s.sequenceNumber = seq;
    s.timestamp = ts;
    s.octetCount += payload.length;
    s.headerBytesSent += this.size;
    s.packetCount = (s.packetCount + 1) >>> 0;
    if (now - this.clockAt >= SR_CLOCK_REFRESH_MS || this.clockAt === 0) {
      // The pair a sender report states: this packet's RTP timestamp and the wall clock it left at.
      this.clockAt = now;
      const ms = performance.timeOrigin + performance.now() + NTP_EPOCH_OFFSET_MS;
      const sec = Math.floor(ms / 1000);
      const frac = Math.floor(((ms - sec * 1000) / 1000) * 0x1_0000_0000);
      s.ntpTimestamp = (BigInt(sec) << 32n) | BigInt(frac);
      s.rtpTimestamp = ts;
    }
    if (plan.nack) {
      // Kept for retransmission on NACK (werift re-sends from this history, re-encrypting the header).
      const ext = hasExt ? [{ id: plan.ext[4]! >> 4, payload: plan.ext.subarray(5, 5 + (plan.ext[4]! & 0x0f) + 1) }] : [];
      s.rtpCache[seq % RTP_HISTORY] = new RtpPacket(new RtpHeader({ marker: h.marker, payloadType: plan.payloadType, sequenceNumber: seq, timestamp: ts, ssrc: s.ssrc, csrc: [csrc], extensions: ext }), payload);
    }
    if (!s.rtcpRunning && !s.stopped) s.runRtcp().catch(() => {});
    const dtls = s.dtlsTransport;
    const ctx = dtls.srtp?.localContext;
    const sealed = ctx ? this.seal(ctx, payload) : null;
    if (!sealed) {
      dtls.sendRtp(payload, this.header).catch(() => {
        /* the subscriber's transport went away; its leave cleans up */
      });
      return;
    }
    // What werift's RTCDtlsTransport.sendRtp does after encrypting.
    dtls.bytesSent += sealed.length;
    dtls.packetsSent++;
    this.transmit(dtls.iceTransport.connection, sealed);
  }

  private addr?: [string, number];
  private addrIsIp = false;

  /**
   * werift's ICE send for a UDP pair (consent check, the nominated pair's socket, its counters) without
   * the three async functions it passes through on the way; TCP pairs and unresolved addresses go
   * through werift's own send.
   */
  private transmit(conn: IceConnectionInternals, data: Buffer): void {
    const pair = conn.nominated;
    const t = pair?.protocol.transport;
    if (pair && t?.type === "udp" && t.socket && !t.closed && conn.canSendApplicationData()) {
      const addr = pair.remoteAddr;
      if (addr !== this.addr) ((this.addr = addr), (this.addrIsIp = isIP(addr[0]) !== 0));
      if (this.addrIsIp) {
        try {
          t.socket.send(data, addr[1], addr[0]);
        } catch {
          return; // the socket closed under us: the subscriber is leaving
        }
        pair.packetsSent++;
        pair.bytesSent += data.length;
        return;
      }
    }
    conn.send(data).catch(() => {});
  }

  /**
   * SRTP protection of the header in scratch and the payload, as werift's ciphers do it (RFC 3711
   * AES-CM + HMAC-SHA1-80, RFC 7714 AEAD AES-128-GCM) with werift's rollover counter state, but
   * with the nonce written in place (werift builds it through a generic writer, and the AES-CM
   * counter through BigInt) and the packet assembled in one buffer. Null for other profiles.
   */
  private seal(ctx: SrtpContextInternals, payload: Buffer): Buffer | null {
    const { ssrc, sequenceNumber: seq } = this.header;
    const c = ctx.cipher;
    const iv = this.iv;
    const hlen = this.size;
    const hdr = this.scratch.subarray(0, hlen);
    if (ctx.profile === ProtectionProfileAeadAes128Gcm) {
      const st = ctx.getSrtpSsrcState(ssrc);
      ctx.updateRolloverCount(seq, st);
      iv.writeUInt16BE(0, 0);
      iv.writeUInt32BE(ssrc, 2);
      iv.writeUInt32BE(st.rolloverCounter, 6);
      iv.writeUInt16BE(seq, 10);
      for (let i = 0; i < 12; i++) iv[i]! ^= c.srtpSessionSalt[i]!;
      const gcm = createCipheriv("aes-128-gcm", c.srtpSessionKey, iv.subarray(0, 12));
      gcm.setAAD(hdr);
      const enc = gcm.update(payload);
      gcm.final();
      const out = Buffer.allocUnsafe(hlen + enc.length + 16);
      hdr.copy(out, 0);
      enc.copy(out, hlen);
      gcm.getAuthTag().copy(out, hlen + enc.length);
      return out;
    }
    if (ctx.profile === ProtectionProfileAes128CmHmacSha1_80 && c.srtpSessionAuthTag) {
      const st = ctx.getSrtpSsrcState(ssrc);
      ctx.updateRolloverCount(seq, st);
      iv.fill(0);
      iv.writeUInt32BE(ssrc, 4);
      iv.writeUInt32BE(st.rolloverCounter, 8);
      iv.writeUInt16BE(seq, 12);
      for (let i = 0; i < c.srtpSessionSalt.length; i++) iv[i]! ^= c.srtpSessionSalt[i]!;
      const out = Buffer.allocUnsafe(hlen + payload.length + 10);
      hdr.copy(out, 0);
      createCipheriv("aes-128-ctr", c.srtpSessionKey, iv).update(payload).copy(out, hlen);
      this.roc.writeUInt32BE(st.rolloverCounter, 0);
      const mac = createHmac("sha1", c.srtpSessionAuthTag);
      mac.update(out.subarray(0, hlen + payload.length));
      mac.update(this.roc);
      mac.digest().copy(out, hlen + payload.length, 0, 10);
      return out;
    }
    return null;
  }
}

/** werift's Event internals (its `event` field is private in the types). */
interface EventInternals {
  ended: boolean;
  event: { stack: { execute: (...args: unknown[]) => void }[]; promiseStack: unknown[] };
  execute: (...args: unknown[]) => void;
}

const quickened = new WeakSet<object>();

/**
 * werift's Event.execute calls the synchronous subscribers, then starts an async function for the
 * queued (promise) subscribers even when there are none: a promise and a microtask per event per
 * packet, on four events per packet taken in. This gives one Event the same behaviour without
 * that when nothing is queued (werift's own execute runs whenever something is).
 */
export function quickenEvent(ev: unknown): void {
  if (!ev || typeof ev !== "object" || quickened.has(ev)) return;
  const e = ev as EventInternals;
  if (typeof e.execute !== "function" || !e.event) return;
  quickened.add(ev);
  const original = e.execute;
  // The events quickened here carry at most three arguments (data; packet and extensions).
  e.execute = (a?: unknown, b?: unknown, c?: unknown) => {
    if (e.event.promiseStack.length > 0) return original(a, b, c);
    if (e.ended) return;
    for (const item of e.event.stack) item.execute(a, b, c);
  };
}

/** The receiver fields werift's handleRTP consults for every packet. */
interface ReceiverInternals {
  codecs: Record<number, { name: string }>;
  rtcpRunning: boolean;
  stopped: boolean;
  twccEnabled: unknown;
  nackEnabled: unknown;
  runRtcp(): Promise<void>;
}

/**
 * Trims werift's per-packet work on one of the node's peer connections, once negotiated (the node
 * never renegotiates, so what the negotiation decided stays): the receivers' TWCC/NACK switches,
 * which werift recomputes for every packet by sorting the codec list, are fixed at what the
 * negotiation gave; the receivers' RTCP loop is only started when it is not running (werift calls
 * its async starter for every packet); and the events a packet passes through on its way in
 * (socket → ICE → DTLS/SRTP → router) skip their empty async step; the codecs' names are fixed too.
 */
export function quickenReceivePath(pc: RTCPeerConnection): void {
  for (const t of pc.getTransceivers()) {
    const r = t.receiver as unknown as ReceiverInternals;
    const twcc = r.twccEnabled;
    const nack = r.nackEnabled;
    Object.defineProperty(r, "twccEnabled", { value: twcc, configurable: true });
    Object.defineProperty(r, "nackEnabled", { value: nack, configurable: true });
    // handleRTP reads each packet's codec name (twice) through a getter that splits the MIME type.
    for (const codec of Object.values(r.codecs)) Object.defineProperty(codec, "name", { value: codec.name, configurable: true });
    const runRtcp = r.runRtcp.bind(r);
    const idle = Promise.resolve();
    r.runRtcp = () => (r.rtcpRunning || r.stopped ? idle : runRtcp());
  }
  for (const dtls of pc.dtlsTransports) {
    quickenEvent(dtls.onRtp);
    quickenEvent(dtls.onRtcp);
    const conn = dtls.iceTransport.connection as unknown as { onData: unknown; protocols: { onDataReceived?: unknown }[] };
    quickenEvent(conn.onData);
    for (const p of conn.protocols) quickenEvent(p.onDataReceived);
  }
}

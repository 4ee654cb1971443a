// Call media frames through encoded transforms: sealing and opening each frame with the call
// key (src/calling/frame-crypto.ts format), shared by the main thread (createEncodedStreams)
// and the call worker (RTCRtpScriptTransform), with the counters the call screen and tests read.
import { CallKeyring, FrameError } from "../../../src/calling/frame-crypto.ts";

export type FrameKind = "audio" | "video" | "screen";
export type EncodedFrame = { data: ArrayBuffer };

/** Where a transform reports what went through it (the main thread's counters, or the worker's batches). */
export interface FrameSink {
  sent(kind: FrameKind, plain: Uint8Array): void;
  received(kind: FrameKind, slot: string, plain: Uint8Array): void;
  /** waiting: sealed with a key not (yet) given to us, e.g. in the moment before a new key's message arrives. */
  failed(waiting: boolean): void;
}

/**
 * Bytes of a video frame left in clear in front of the encrypted part: the VP8 payload header
 * (RFC 6386 §9.1: 10 bytes of a keyframe, 3 of a delta frame). The receiving browser's RTP
 * depacketizer reads the keyframe flag and the picture size from them before any transform
 * runs; encrypted there, every frame would look like a delta frame and nothing would ever
 * be decoded. The SFU never looks at them. They are authenticated with the frame (extra AAD),
 * and the same bit decides their length on both ends. Audio (Opus) is encrypted whole, exactly
 * like the SDK participant's frames.
 */
export function clearBytes(kind: FrameKind, data: Uint8Array): number {
  if (kind === "audio" || data.length === 0) return 0;
  return (data[0]! & 1) === 0 ? 10 : 3;
}

export async function sealFrame(keyring: CallKeyring, kind: FrameKind, plain: Uint8Array): Promise<Uint8Array> {
  const n = clearBytes(kind, plain);
  // Never the case for VP8 (its frame tag is 3 bytes, a keyframe's header 10); refused rather
  // than sealed in a way the receiver would split differently.
  if (plain.length < n) throw new FrameError("a video frame shorter than its header");
  const head = plain.subarray(0, n);
  const body = await keyring.encrypt(plain.subarray(n), head);
  if (n === 0) return body;
  const out = new Uint8Array(n + body.length);
  out.set(head);
  out.set(body, n);
  return out;
}

export async function openFrame(keyring: CallKeyring, kind: FrameKind, wire: Uint8Array): Promise<Uint8Array> {
  const n = clearBytes(kind, wire);
  const head = wire.subarray(0, n);
  const body = await keyring.decrypt(wire.subarray(n), head);
  if (n === 0) return body;
  const out = new Uint8Array(n + body.length);
  out.set(head);
  out.set(body, n);
  return out;
}

/**
 * How long a video frame waits for its key instead of being dropped. A picture can only start
 * from a keyframe, and the one a joiner is sent first (the node asks for it on joining) comes
 * in the moment before the call key's message does: dropped, the picture would wait for the
 * next keyframe, which may never be asked for. Audio is never held: late sound is no use.
 * Each slot has its own transform, so a frame sealed with a key nobody gives us only holds
 * back its own sender's stream.
 */
const KEY_WAIT_MS = 3000;

async function keyArrives(ready: () => boolean): Promise<boolean> {
  const until = Date.now() + KEY_WAIT_MS;
  while (!ready()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Frames leave only encrypted: before the first key arrives audio is dropped and video waits for it (briefly). */
export function encryptFrames(readable: ReadableStream<EncodedFrame>, writable: WritableStream<EncodedFrame>, keyring: CallKeyring, kind: FrameKind, sink: FrameSink) {
  void readable
    .pipeThrough(
      new TransformStream<EncodedFrame, EncodedFrame>({
        transform: async (frame, ctl) => {
          if (keyring.current === undefined && (kind === "audio" || !(await keyArrives(() => keyring.current !== undefined)))) return;
          const plain = new Uint8Array(frame.data);
          try {
            frame.data = (await sealFrame(keyring, kind, plain)).buffer as ArrayBuffer;
          } catch {
            return;
          }
          sink.sent(kind, plain);
          ctl.enqueue(frame);
        },
      }),
    )
    .pipeTo(writable)
    .catch(() => undefined);
}

/** A frame that does not open (no key yet — after a video frame's short wait —, tampered, a key we were never given) is dropped, never played. */
export function decryptFrames(readable: ReadableStream<EncodedFrame>, writable: WritableStream<EncodedFrame>, keyring: CallKeyring, kind: FrameKind, slot: string, sink: FrameSink) {
  void readable
    .pipeThrough(
      new TransformStream<EncodedFrame, EncodedFrame>({
        transform: async (frame, ctl) => {
          const wire = new Uint8Array(frame.data);
          const frameKey = wire[clearBytes(kind, wire) + 1];
          if (kind !== "audio" && frameKey !== undefined && !keyring.has(frameKey)) await keyArrives(() => keyring.has(frameKey));
          try {
            const plain = await openFrame(keyring, kind, wire);
            frame.data = plain.buffer as ArrayBuffer;
            sink.received(kind, slot, plain);
            ctl.enqueue(frame);
          } catch {
            const keyId = wire[clearBytes(kind, wire) + 1];
            sink.failed(keyId !== undefined && !keyring.has(keyId));
          }
        },
      }),
    )
    .pipeTo(writable)
    .catch(() => undefined);
}

export interface FrameStats {
  /** Which path runs the transforms of the current (or last) call. */
  mode: "" | "encoded-streams" | "script-transform";
  encrypted: number;
  decrypted: number;
  /** Frames that did not open with a key we hold: damaged, tampered or forged. */
  failed: number;
  /** Frames dropped because their key had not reached us yet (a joiner's first moments, a rotation in flight). */
  waiting: number;
  kinds: Record<FrameKind, { encrypted: number; decrypted: number }>;
  /** Audio only (the SDK interop test compares them byte for byte): whole sent frames, first 40 bytes of received ones. */
  sentPlain: string[];
  receivedPlain: string[];
  /** Receive slot → when its last frame opened (ms): which tiles have a live picture. */
  lastFrame: Record<string, number>;
}

export const newFrameStats = (): FrameStats => ({
  mode: "",
  encrypted: 0,
  decrypted: 0,
  failed: 0,
  waiting: 0,
  kinds: { audio: { encrypted: 0, decrypted: 0 }, video: { encrypted: 0, decrypted: 0 }, screen: { encrypted: 0, decrypted: 0 } },
  sentPlain: [],
  receivedPlain: [],
  lastFrame: {},
});

const SAMPLE = 40;
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Counts into a FrameStats (the main thread's directly; the worker's, then sent over in batches). */
export function statsSink(stats: FrameStats, now: () => number = Date.now): FrameSink {
  return {
    sent(kind, plain) {
      stats.encrypted++;
      stats.kinds[kind].encrypted++;
      if (kind === "audio" && stats.sentPlain.length < 500) stats.sentPlain.push(hex(plain));
    },
    received(kind, slot, plain) {
      stats.decrypted++;
      stats.kinds[kind].decrypted++;
      stats.lastFrame[slot] = now();
      if (kind === "audio" && stats.receivedPlain.length < 50) stats.receivedPlain.push(hex(plain.subarray(0, SAMPLE)));
    },
    failed(waiting) {
      if (waiting) stats.waiting++;
      else stats.failed++;
    },
  };
}

/** Adds a worker's batch (counted since its previous one) into the page's totals. */
export function mergeStats(into: FrameStats, batch: FrameStats) {
  into.encrypted += batch.encrypted;
  into.decrypted += batch.decrypted;
  into.failed += batch.failed;
  into.waiting += batch.waiting;
  for (const k of ["audio", "video", "screen"] as const) {
    into.kinds[k].encrypted += batch.kinds[k].encrypted;
    into.kinds[k].decrypted += batch.kinds[k].decrypted;
  }
  for (const s of batch.sentPlain) if (into.sentPlain.length < 500) into.sentPlain.push(s);
  for (const s of batch.receivedPlain) if (into.receivedPlain.length < 50) into.receivedPlain.push(s);
  Object.assign(into.lastFrame, batch.lastFrame);
}

/** Messages the page sends the call worker. */
export type WorkerRequest = { t: "key"; keyId: number; raw: Uint8Array } | { t: "clear" };
/** The options each RTCRtpScriptTransform carries to the worker. */
export interface TransformOptions {
  dir: "send" | "receive";
  kind: FrameKind;
  /**
   * The page's name for the slot ("video-1"): transforms must be set before the offer is
   * created (Chromium's RTCRtpScriptTransform passes no frames otherwise), when mids do not exist yet.
   */
  slot: string;
}

// End-to-end encryption of call media frames (isomorphic: Bun and browsers, WebCrypto only).
// Each RTP payload becomes: version(1) ‖ keyId(1) ‖ iv(12) ‖ AES-256-GCM(ciphertext ‖ tag),
// the first 14 bytes authenticated as AAD (plus, for browser video, the codec header bytes
// the frame keeps in clear in front of it: `extraAad`). The per-call key travels in encrypted call
// messages; the SFU never holds it and only ever forwards these frames.

export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 14;
const TAG_BYTES = 16;
/** Keys kept for decrypting frames still in flight after a rotation. */
const KEEP_KEYS = 3;

export class FrameError extends Error {}

export interface CallKey {
  keyId: number;
  /** 32 raw bytes: what travels (encrypted) to the other participants. */
  raw: Uint8Array;
}

/** A new random call key with the id that follows `previous` (ids wrap at 256). */
export function newCallKey(previous?: number): CallKey {
  return { keyId: previous === undefined ? 0 : (previous + 1) & 0xff, raw: crypto.getRandomValues(new Uint8Array(32)) };
}

export class CallKeyring {
  private readonly keys = new Map<number, CryptoKey>();
  private order: number[] = [];
  current: number | undefined;

  /** Adds a key and makes it the one frames are sent with. */
  async install(key: CallKey): Promise<void> {
    if (key.raw.length !== 32) throw new FrameError("a call key is 32 bytes");
    if (!Number.isInteger(key.keyId) || key.keyId < 0 || key.keyId > 255) throw new FrameError("a key id is 0-255");
    const k = await crypto.subtle.importKey("raw", key.raw as BufferSource, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    this.keys.set(key.keyId, k);
    this.order = [...this.order.filter((id) => id !== key.keyId), key.keyId];
    while (this.order.length > KEEP_KEYS) this.keys.delete(this.order.shift()!);
    this.current = key.keyId;
  }

  /** Forgets every key (a participant that leaves keeps nothing). */
  clear(): void {
    this.keys.clear();
    this.order = [];
    this.current = undefined;
  }

  has(keyId: number): boolean {
    return this.keys.has(keyId);
  }

  async encrypt(plain: Uint8Array, extraAad?: Uint8Array): Promise<Uint8Array> {
    if (this.current === undefined) throw new FrameError("no call key yet");
    const header = new Uint8Array(FRAME_HEADER_BYTES);
    header[0] = FRAME_VERSION;
    header[1] = this.current;
    crypto.getRandomValues(header.subarray(2));
    const ct = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv: header.subarray(2) as BufferSource, additionalData: aad(header, extraAad) }, this.keys.get(this.current)!, plain as BufferSource),
    );
    const out = new Uint8Array(FRAME_HEADER_BYTES + ct.length);
    out.set(header);
    out.set(ct, FRAME_HEADER_BYTES);
    return out;
  }

  async decrypt(frame: Uint8Array, extraAad?: Uint8Array): Promise<Uint8Array> {
    if (frame.length < FRAME_HEADER_BYTES + TAG_BYTES) throw new FrameError("frame too short");
    if (frame[0] !== FRAME_VERSION) throw new FrameError(`unknown frame version ${frame[0]}`);
    const key = this.keys.get(frame[1]!);
    if (!key) throw new FrameError(`no key ${frame[1]}`);
    const header = frame.subarray(0, FRAME_HEADER_BYTES);
    try {
      return new Uint8Array(
        await crypto.subtle.decrypt({ name: "AES-GCM", iv: header.subarray(2) as BufferSource, additionalData: aad(header, extraAad) }, key, frame.subarray(FRAME_HEADER_BYTES) as BufferSource),
      );
    } catch {
      throw new FrameError("frame failed authentication");
    }
  }
}

/** The frame header, followed by any bytes the caller keeps in clear but wants authenticated. */
function aad(header: Uint8Array, extra: Uint8Array | undefined): BufferSource {
  if (!extra?.length) return header as BufferSource;
  const out = new Uint8Array(header.length + extra.length);
  out.set(header);
  out.set(extra, header.length);
  return out as BufferSource;
}

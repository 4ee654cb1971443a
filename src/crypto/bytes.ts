// Byte helpers shared by the protocol module: encodings (hex, base64url, UTF-8),
// concatenation, constant-time-ish comparison and the injectable random source.

/**
 * WebCrypto's typings accept only ArrayBuffer-backed views; our views may be typed with
 * ArrayBufferLike (subarrays of anything). At runtime WebCrypto accepts them all except
 * SharedArrayBuffer views, which this module never creates.
 */
export function buffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

export type RandomSource = (length: number) => Promise<Uint8Array>;

/** The platform CSPRNG; WebCrypto caps one call at 65536 bytes, so larger draws are split. */
export const systemRandom: RandomSource = async (length) => {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(length, at + 65536)));
  }
  return out;
};

/**
 * A deterministic random source for test vectors only: call n returns
 * HKDF-SHA-256(ikm = seed, salt = "", info = "outpost/test-random" ‖ u32be(n), length).
 * Never use it for real keys: anyone with the seed can replay every draw.
 */
export function seededRandom(seed: Uint8Array): RandomSource {
  let counter = 0;
  const keyPromise = crypto.subtle.importKey("raw", buffer(seed), "HKDF", false, ["deriveBits"]);
  return async (length) => {
    const info = concatBytes(utf8("outpost/test-random"), u32be(counter++));
    const bits = await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: buffer(info) },
      await keyPromise,
      length * 8,
    );
    return new Uint8Array(bits);
  };
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, throwing on invalid sequences (so garbage never becomes U+FFFD silently). */
export function fromUtf8(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const HEX = "0123456789abcdef";

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/** Lowercase hex only: ids are compared as strings, so one spelling per value. */
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text)) throw new TypeError("not lowercase hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toBase64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError("not base64url");
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(padded);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Compares without an early exit, so timing does not reveal where two MACs or hashes differ. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function u8(value: number): Uint8Array {
  return Uint8Array.of(value);
}

export function u16be(value: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value);
  return out;
}

export function u32be(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function u64be(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

/** A byte string preceded by its one-byte length: the encoding of every short text field. */
export function shortBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 255) throw new RangeError("field longer than 255 bytes");
  return concatBytes(u8(bytes.length), bytes);
}

export function assertLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw new RangeError(`${what} must be ${length} bytes, got ${bytes.length}`);
}

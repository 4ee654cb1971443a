// Chunk encryption for files and call frames: one random 256-bit key per file or call,
// each chunk sealed with AES-256-GCM under a fresh IV, with its index (and whether it is
// the last) in the AAD so chunks cannot be reordered, swapped between positions or cut off.

import { concatBytes, shortBytes, systemRandom, u64be, u8, utf8, type RandomSource } from "./bytes.ts";
import { PacketError } from "./errors.ts";
import { AES_KEY_LENGTH, GCM_IV_LENGTH, GCM_TAG_LENGTH, aesGcmDecrypt, aesGcmEncrypt } from "./suites.ts";

const CHUNK_LABEL = utf8("outpost/v1/chunk\0");

export interface ChunkOptions {
  /** Marks the last chunk, so a stream truncated at a chunk boundary is detected. */
  final?: boolean;
  /** Binds the chunk to its object (e.g. a file id or call id + sender), up to 255 bytes. */
  context?: Uint8Array;
}

export function generateKey(random: RandomSource = systemRandom): Promise<Uint8Array> {
  return random(AES_KEY_LENGTH);
}

function chunkAad(index: number, options: ChunkOptions): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError("chunk index must be a non-negative integer");
  return concatBytes(CHUNK_LABEL, u64be(BigInt(index)), u8(options.final ? 1 : 0), shortBytes(options.context ?? new Uint8Array(0)));
}

/** Returns IV ‖ ciphertext ‖ tag. */
export async function encryptChunk(
  key: Uint8Array,
  index: number,
  bytes: Uint8Array,
  options: ChunkOptions & { random?: RandomSource } = {},
): Promise<Uint8Array> {
  const iv = await (options.random ?? systemRandom)(GCM_IV_LENGTH);
  return concatBytes(iv, await aesGcmEncrypt(key, iv, bytes, chunkAad(index, options)));
}

/** Opens a chunk at the position the reader expects; any mismatch is "bad_body". */
export async function decryptChunk(key: Uint8Array, index: number, sealed: Uint8Array, options: ChunkOptions = {}): Promise<Uint8Array> {
  if (sealed.length < GCM_IV_LENGTH + GCM_TAG_LENGTH) throw new PacketError("malformed", "chunk too short");
  try {
    return await aesGcmDecrypt(key, sealed.subarray(0, GCM_IV_LENGTH), sealed.subarray(GCM_IV_LENGTH), chunkAad(index, options));
  } catch {
    throw new PacketError("bad_body", `chunk ${index} does not authenticate at this position`);
  }
}

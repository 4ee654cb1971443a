// The binary wire encoding of packets. The parsing half is what the relay runs on every
// packet: no crypto, no JSON, no copies (fields are views into the input), and every length
// checked before use. The relay stores `shared` once per conversation and each wrap entry
// beside it, and re-assembles a per-device packet with encodeStoredPacket.

import { concatBytes, fromHex, shortBytes, toHex, u16be, u32be, u64be, u8, utf8 } from "./bytes.ts";
import { isConversationId } from "./conversation.ts";
import { PacketError } from "./errors.ts";
import { isDeviceId, isUserId, prekeyIdToBigInt } from "./ids.ts";
import { ByteReader } from "./reader.ts";
import { getSuite, suiteByCode, GCM_IV_LENGTH, GCM_TAG_LENGTH, AES_KEY_LENGTH, type SuiteId } from "./suites.ts";

export const PROTOCOL_VERSION = 1;
export const PACKET_ID_LENGTH = 16;
const CONVERSATION_ID_LENGTH = 64;
const MAX_HEADER = 1024;
/** Message bodies only; files travel as separately encrypted chunks. */
export const MAX_BODY = 16 * 1024 * 1024;
const WRAPPED_KEY_LENGTH = AES_KEY_LENGTH + GCM_TAG_LENGTH;

export interface PacketHeader {
  version: number;
  suite: SuiteId;
  /** 32 lowercase hex characters (128 random bits); also the idempotency key. */
  packetId: string;
  conversationId: string;
  senderUserId: string;
  senderDeviceId: string;
  ephemeralPublicKey: Uint8Array;
  /** Expiration in seconds from sentAt (0 = none). */
  ttl: number;
  /** Burn-on-read in seconds from first read (0 = none). */
  bor: number;
  /** Milliseconds since the Unix epoch. */
  sentAt: number;
  bodyHash: Uint8Array;
}

export interface WrapEntry {
  deviceId: string;
  prekeyId: string;
  iv: Uint8Array;
  wrappedKey: Uint8Array;
  /** The entry exactly as on the wire (without its u16 length), for storage and re-assembly. */
  bytes: Uint8Array;
}

export interface PacketEnvelope {
  header: PacketHeader;
  /** The canonical header encoding: what the device key signs. */
  headerBytes: Uint8Array;
  signature: Uint8Array;
  /** IV ‖ AES-GCM ciphertext and tag of the payload. */
  body: Uint8Array;
  /** Everything before the wrap list: stored once per conversation. */
  shared: Uint8Array;
  wraps: WrapEntry[];
}

/** Encodes the header; its last field is the body hash (see bodyAadInput). */
export function encodeHeader(header: PacketHeader): Uint8Array {
  const suite = getSuite(header.suite);
  const packetId = fromHex(header.packetId);
  if (packetId.length !== PACKET_ID_LENGTH) throw new RangeError("packet id must be 128 bits");
  if (!isConversationId(header.conversationId)) throw new RangeError("invalid conversation id");
  if (!isUserId(header.senderUserId) || !isDeviceId(header.senderDeviceId)) throw new RangeError("invalid sender");
  if (header.ephemeralPublicKey.length !== suite.publicKeyLength) throw new RangeError("ephemeral key length");
  if (header.bodyHash.length !== suite.hashLength) throw new RangeError("body hash length");
  return concatBytes(
    u8(header.version),
    u8(suite.code),
    packetId,
    utf8(header.conversationId),
    shortBytes(utf8(header.senderUserId)),
    shortBytes(utf8(header.senderDeviceId)),
    shortBytes(header.ephemeralPublicKey),
    u32be(header.ttl),
    u32be(header.bor),
    u64be(BigInt(header.sentAt)),
    header.bodyHash,
  );
}

/**
 * The header without its trailing body hash. The body's AAD is the hash of this prefix:
 * the body cannot be bound to a header that already contains the body's own hash.
 */
export function headerWithoutBodyHash(headerBytes: Uint8Array, suite: SuiteId): Uint8Array {
  return headerBytes.subarray(0, headerBytes.length - getSuite(suite).hashLength);
}

export function decodeHeader(bytes: Uint8Array): PacketHeader {
  const reader = new ByteReader(bytes);
  const version = reader.u8("version");
  if (version !== PROTOCOL_VERSION) throw new PacketError("unknown_version", String(version));
  const suite = suiteByCode(reader.u8("suite"));
  const packetId = toHex(reader.take(PACKET_ID_LENGTH, "packet id"));
  const conversationBytes = reader.take(CONVERSATION_ID_LENGTH, "conversation id");
  const conversationId = String.fromCharCode(...conversationBytes);
  const senderUserId = reader.shortText("sender user id");
  const senderDeviceId = reader.shortText("sender device id");
  const ephemeralPublicKey = reader.shortBytes("ephemeral key");
  const ttl = reader.u32("ttl");
  const bor = reader.u32("bor");
  const sentAt = reader.safeU64("sent time");
  const bodyHash = reader.take(suite.hashLength, "body hash");
  reader.end("header");
  if (!isConversationId(conversationId)) throw new PacketError("malformed", "conversation id");
  if (!isUserId(senderUserId) || !isDeviceId(senderDeviceId)) throw new PacketError("malformed", "sender ids");
  if (ephemeralPublicKey.length !== suite.publicKeyLength) throw new PacketError("malformed", "ephemeral key length");
  return { version, suite: suite.id, packetId, conversationId, senderUserId, senderDeviceId, ephemeralPublicKey, ttl, bor, sentAt, bodyHash };
}

export function encodeWrapEntry(entry: { deviceId: string; prekeyId: string; iv: Uint8Array; wrappedKey: Uint8Array }): Uint8Array {
  if (!isDeviceId(entry.deviceId)) throw new RangeError("invalid device id");
  if (entry.iv.length !== GCM_IV_LENGTH || entry.wrappedKey.length !== WRAPPED_KEY_LENGTH) throw new RangeError("wrap lengths");
  return concatBytes(shortBytes(utf8(entry.deviceId)), u64be(prekeyIdToBigInt(entry.prekeyId)), entry.iv, entry.wrappedKey);
}

export function decodeWrapEntry(bytes: Uint8Array): WrapEntry {
  const reader = new ByteReader(bytes);
  const deviceId = reader.shortText("wrap device id");
  const prekeyId = reader.u64("wrap prekey id").toString();
  const iv = reader.take(GCM_IV_LENGTH, "wrap iv");
  const wrappedKey = reader.take(WRAPPED_KEY_LENGTH, "wrapped key");
  reader.end("wrap entry");
  if (!isDeviceId(deviceId)) throw new PacketError("malformed", "wrap device id");
  return { deviceId, prekeyId, iv, wrappedKey, bytes };
}

/** Assembles a packet from its parts; also how the relay rebuilds a stored packet. */
export function encodeStoredPacket(shared: Uint8Array, wrapEntries: readonly Uint8Array[]): Uint8Array {
  if (wrapEntries.length === 0 || wrapEntries.length > 0xffff) throw new RangeError("a packet carries 1..65535 wraps");
  const parts: Uint8Array[] = [shared, u16be(wrapEntries.length)];
  for (const entry of wrapEntries) parts.push(u16be(entry.length), entry);
  return concatBytes(...parts);
}

/** The shared part: u32 header length ‖ header ‖ u16 signature length ‖ signature ‖ u32 body length ‖ body. */
export function encodeShared(headerBytes: Uint8Array, signature: Uint8Array, body: Uint8Array): Uint8Array {
  return concatBytes(u32be(headerBytes.length), headerBytes, u16be(signature.length), signature, u32be(body.length), body);
}

/**
 * Parses and validates a packet without any crypto. Throws PacketError: "malformed" for any
 * framing or field error, "unknown_version"/"unknown_suite" for a well-framed header it
 * does not understand. Framing is checked first so truncation is always "malformed".
 */
export function parsePacketEnvelope(bytes: Uint8Array): PacketEnvelope {
  const reader = new ByteReader(bytes);
  const headerLength = reader.u32("header length");
  if (headerLength > MAX_HEADER) throw new PacketError("malformed", "header too long");
  const headerBytes = reader.take(headerLength, "header");
  const signature = reader.take(reader.u16("signature length"), "signature");
  const bodyLength = reader.u32("body length");
  if (bodyLength > MAX_BODY) throw new PacketError("malformed", "body too long");
  if (bodyLength < GCM_IV_LENGTH + GCM_TAG_LENGTH) throw new PacketError("malformed", "body too short");
  const body = reader.take(bodyLength, "body");
  const shared = bytes.subarray(0, reader.offset);
  const wrapCount = reader.u16("wrap count");
  if (wrapCount === 0) throw new PacketError("malformed", "no wraps");
  const raw: Uint8Array[] = [];
  for (let i = 0; i < wrapCount; i++) raw.push(reader.take(reader.u16("wrap length"), "wrap entry"));
  reader.end("packet");

  const header = decodeHeader(headerBytes);
  if (signature.length !== getSuite(header.suite).signatureLength) throw new PacketError("malformed", "signature length");
  const wraps: WrapEntry[] = [];
  const seen = new Set<string>();
  for (const entry of raw) {
    const wrap = decodeWrapEntry(entry);
    if (seen.has(wrap.deviceId)) throw new PacketError("malformed", "two wraps for one device");
    seen.add(wrap.deviceId);
    wraps.push(wrap);
  }
  return { header, headerBytes, signature, body, shared, wraps };
}

/** The packet as delivered to one device: the shared part and only that device's wrap. */
export function packetForDevice(envelope: Pick<PacketEnvelope, "shared" | "wraps">, deviceId: string): Uint8Array | undefined {
  const wrap = envelope.wraps.find((entry) => entry.deviceId === deviceId);
  return wrap ? encodeStoredPacket(envelope.shared, [wrap.bytes]) : undefined;
}

// Public API of the end-to-end protocol module (isomorphic: Bun and browsers).
// The relay needs only the crypto-free codec; clients use the rest.

export { PacketError, type PacketErrorCode } from "./errors.ts";
export { systemRandom, seededRandom, toHex, fromHex, toBase64url, fromBase64url, type RandomSource } from "./bytes.ts";
export {
  SUITE_IDS,
  DEFAULT_SUITE,
  getSuite,
  generateSigningKeyPair,
  generateAgreementKeyPair,
  importSigningKeyPair,
  importAgreementKeyPair,
  importPublicKey,
  type KeyPair,
  type Suite,
  type SuiteId,
} from "./suites.ts";
export { isDeviceId, isUserId, isPrekeyId } from "./ids.ts";
export {
  generateRootKey,
  rootFingerprint,
  createDevice,
  decodeDeviceCertificate,
  verifyDeviceCertificate,
  createPrekeys,
  decodePrekey,
  verifyPrekey,
  safetyNumber,
  type Device,
  type DeviceCertificate,
  type SignedPrekey,
  type PrekeyPrivate,
  type PrekeyKind,
} from "./keys.ts";
export {
  PROTOCOL_VERSION,
  MAX_BODY,
  parsePacketEnvelope,
  packetForDevice,
  encodeStoredPacket,
  decodeWrapEntry,
  type PacketEnvelope,
  type PacketHeader,
  type WrapEntry,
} from "./codec.ts";
export { MessageType, isMessageTypeCode, type MessageTypeCode, type Payload } from "./payload.ts";
export { sealPacket, openPacket, deriveKek, type Recipient, type SealOptions, type SenderKeys, type OpenOptions, type OpenedPacket } from "./packet.ts";
export { conversationKind, isConversationId, directConversationId, newRoomId, newGroupId, type ConversationKind } from "./conversation.ts";
export { encryptChunk, decryptChunk, generateKey, type ChunkOptions } from "./aead.ts";

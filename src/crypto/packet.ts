// Sealing and opening packets (PROTOCOL.md "Sending a packet" / "Receiving"). A packet's
// payload key is wrapped once per recipient device under a KEK agreed between a fresh
// ephemeral key and one of that device's prekeys; the header is signed by the sender's
// device key. Opening verifies in the order the protocol fixes and names each failure.

import { concatBytes, equalBytes, shortBytes, systemRandom, toHex, u64be, utf8, type RandomSource } from "./bytes.ts";
import {
  PROTOCOL_VERSION,
  PACKET_ID_LENGTH,
  encodeHeader,
  encodeShared,
  encodeStoredPacket,
  encodeWrapEntry,
  headerWithoutBodyHash,
  parsePacketEnvelope,
  type PacketHeader,
} from "./codec.ts";
import { isConversationId } from "./conversation.ts";
import { PacketError } from "./errors.ts";
import { prekeyIdToBigInt } from "./ids.ts";
import { rootFingerprint, verifyDeviceCertificate, verifyPrekey, type Device } from "./keys.ts";
import { decodePayload, encodePayload, type MessageTypeCode, type Payload } from "./payload.ts";
import {
  AES_KEY_LENGTH,
  GCM_IV_LENGTH,
  aesGcmDecrypt,
  aesGcmEncrypt,
  agree,
  digest,
  generateAgreementKeyPair,
  getSuite,
  hkdf,
  importPublicKey,
  sign,
  verify,
  type KeyPair,
  type SuiteId,
} from "./suites.ts";

const HEADER_SIGNATURE_LABEL = utf8("outpost/v1/packet\0");
const WRAP_LABEL = utf8("outpost/v1/wrap");
const MAX_U32 = 0xffffffff;

/** KEK_d = HKDF(ECDH(E, P_d), salt = "", info = "outpost/v1/wrap" ‖ suite ‖ root fingerprint ‖ device id ‖ prekey id). */
export function deriveKek(suite: SuiteId, sharedSecret: Uint8Array, senderRootFingerprint: Uint8Array, deviceId: string, prekeyId: string): Promise<Uint8Array> {
  const info = concatBytes(
    WRAP_LABEL,
    shortBytes(utf8(suite)),
    senderRootFingerprint,
    shortBytes(utf8(deviceId)),
    u64be(prekeyIdToBigInt(prekeyId)),
  );
  return hkdf(suite, sharedSecret, new Uint8Array(0), info, AES_KEY_LENGTH);
}

/** AAD of a wrap: H(signed header) ‖ len ‖ device id, so an entry only opens under its own header and device. */
async function wrapAad(suite: SuiteId, headerBytes: Uint8Array, deviceId: string): Promise<Uint8Array> {
  return concatBytes(await digest(suite, headerBytes), shortBytes(utf8(deviceId)));
}

export interface Recipient {
  deviceId: string;
  /** The device's certificate, checked against rootPublicKey before anything is wrapped for it. */
  deviceCert: Uint8Array;
  /** A signed prekey claimed from the server for this device. */
  prekey: Uint8Array;
  rootPublicKey: Uint8Array;
}

export interface SealOptions {
  sender: Pick<Device, "suite" | "userId" | "deviceId" | "deviceKey"> & { rootPublicKey: Uint8Array };
  conversationId: string;
  payload: { type: MessageTypeCode; content: unknown };
  ttl: number;
  bor: number;
  recipients: Recipient[];
  sentAt?: number;
  random?: RandomSource;
}

export async function sealPacket(options: SealOptions): Promise<{ packet: Uint8Array; packetId: string }> {
  const { sender, conversationId, ttl, bor } = options;
  const suite = sender.suite;
  const random = options.random ?? systemRandom;
  const sentAt = options.sentAt ?? Date.now();
  if (!isConversationId(conversationId)) throw new RangeError("invalid conversation id");
  for (const value of [ttl, bor]) if (!Number.isInteger(value) || value < 0 || value > MAX_U32) throw new RangeError("ttl and bor are u32 seconds");
  if (options.recipients.length === 0) throw new RangeError("a packet needs at least one recipient device");
  // Receivers refuse a packet with two wraps for one device, so never produce one.
  if (new Set(options.recipients.map((r) => r.deviceId)).size !== options.recipients.length) throw new RangeError("a device is listed twice");

  // Recipient keys come from the server: check every certificate and prekey before use.
  const checked = [];
  for (const recipient of options.recipients) {
    const cert = await verifyDeviceCertificate(recipient.deviceCert, recipient.rootPublicKey, { deviceId: recipient.deviceId, suite });
    checked.push({ deviceId: recipient.deviceId, prekey: await verifyPrekey(recipient.prekey, cert) });
  }

  const packetId = toHex(await random(PACKET_ID_LENGTH));
  const payloadKey = await random(AES_KEY_LENGTH);
  const bodyIv = await random(GCM_IV_LENGTH);
  const ephemeral = await generateAgreementKeyPair(suite, random);
  const header: PacketHeader = {
    version: PROTOCOL_VERSION,
    suite,
    packetId,
    conversationId,
    senderUserId: sender.userId,
    senderDeviceId: sender.deviceId,
    ephemeralPublicKey: ephemeral.publicBytes,
    ttl,
    bor,
    sentAt,
    bodyHash: new Uint8Array(getSuite(suite).hashLength),
  };
  const payload: Payload = { type: options.payload.type, content: options.payload.content, ttl, bor, sentAt, conversationId };
  const bodyAad = await digest(suite, headerWithoutBodyHash(encodeHeader(header), suite));
  const body = concatBytes(bodyIv, await aesGcmEncrypt(payloadKey, bodyIv, encodePayload(payload), bodyAad));
  header.bodyHash = await digest(suite, body);
  const headerBytes = encodeHeader(header);
  const signature = await sign(suite, sender.deviceKey.privateKey, concatBytes(HEADER_SIGNATURE_LABEL, headerBytes));

  const fingerprint = await rootFingerprint(sender.rootPublicKey);
  const wraps: Uint8Array[] = [];
  for (const { deviceId, prekey } of checked) {
    const prekeyPublic = await importPublicKey(suite, "agreement", prekey.publicKey);
    const kek = await deriveKek(suite, await agree(suite, ephemeral.privateKey, prekeyPublic), fingerprint, deviceId, prekey.id);
    const iv = await random(GCM_IV_LENGTH);
    const wrappedKey = await aesGcmEncrypt(kek, iv, payloadKey, await wrapAad(suite, headerBytes, deviceId));
    wraps.push(encodeWrapEntry({ deviceId, prekeyId: prekey.id, iv, wrappedKey }));
  }
  return { packet: encodeStoredPacket(encodeShared(headerBytes, signature, body), wraps), packetId };
}

export interface SenderKeys {
  rootPublicKey: Uint8Array;
  deviceCert: Uint8Array;
  /** The root fingerprint this user verified (safety number compared), if they did. */
  verifiedRootFingerprint?: Uint8Array;
}

export interface OpenOptions {
  packet: Uint8Array;
  /** This device's id: the wrap entry to use. */
  deviceId: string;
  /** The private part of one of this device's prekeys, or undefined if gone. */
  findPrekey: (prekeyId: string) => KeyPair | undefined | Promise<KeyPair | undefined>;
  /** The sender's keys, or a lookup by the (not yet verified) sender named in the header. */
  sender: SenderKeys | ((header: PacketHeader) => SenderKeys | Promise<SenderKeys>);
  /** True when this packet id was already accepted; the caller records ids after success. */
  isReplay: (packetId: string) => boolean | Promise<boolean>;
}

export interface OpenedPacket {
  header: PacketHeader;
  payload: Payload;
  /** The prekey used: the caller deletes its private part if it was a one-time key. */
  prekeyId: string;
}

/**
 * Order: version and suite (parse) → sender certificate against root (and the verified root)
 * → header signature → replay → wrap → body. Replay is checked only once the header is
 * authentic, so forged ids are never reported as replays, and before the prekey is needed,
 * so a replay is named as such even after its one-time prekey has been deleted.
 */
export async function openPacket(options: OpenOptions): Promise<OpenedPacket> {
  const envelope = parsePacketEnvelope(options.packet);
  const { header, headerBytes } = envelope;
  const suite = header.suite;

  const sender = typeof options.sender === "function" ? await options.sender(header) : options.sender;
  const fingerprint = await rootFingerprint(sender.rootPublicKey);
  if (sender.verifiedRootFingerprint && !equalBytes(fingerprint, sender.verifiedRootFingerprint)) {
    throw new PacketError("root_mismatch", "sender's root key is not the one verified");
  }
  const cert = await verifyDeviceCertificate(sender.deviceCert, sender.rootPublicKey, {
    userId: header.senderUserId,
    deviceId: header.senderDeviceId,
    suite,
  });

  const deviceKey = await importPublicKey(suite, "signature", cert.devicePublicKey);
  if (!(await verify(suite, deviceKey, envelope.signature, concatBytes(HEADER_SIGNATURE_LABEL, headerBytes)))) {
    throw new PacketError("bad_signature", "header signature does not verify");
  }

  if (await options.isReplay(header.packetId)) throw new PacketError("replay", header.packetId);

  const wrap = envelope.wraps.find((entry) => entry.deviceId === options.deviceId);
  if (!wrap) throw new PacketError("no_wrap", `no key for device ${options.deviceId}`);
  const prekey = await options.findPrekey(wrap.prekeyId);
  if (!prekey) throw new PacketError("no_wrap", `prekey ${wrap.prekeyId} is not held`);
  let payloadKey: Uint8Array;
  try {
    const ephemeral = await importPublicKey(suite, "agreement", header.ephemeralPublicKey);
    const kek = await deriveKek(suite, await agree(suite, prekey.privateKey, ephemeral), fingerprint, options.deviceId, wrap.prekeyId);
    payloadKey = await aesGcmDecrypt(kek, wrap.iv, wrap.wrappedKey, await wrapAad(suite, headerBytes, options.deviceId));
  } catch {
    throw new PacketError("bad_wrap", "the key wrap does not open");
  }

  if (!equalBytes(await digest(suite, envelope.body), header.bodyHash)) throw new PacketError("bad_body", "body hash differs from the signed one");
  let plaintext: Uint8Array;
  try {
    const bodyAad = await digest(suite, headerWithoutBodyHash(headerBytes, suite));
    plaintext = await aesGcmDecrypt(payloadKey, envelope.body.subarray(0, GCM_IV_LENGTH), envelope.body.subarray(GCM_IV_LENGTH), bodyAad);
  } catch {
    throw new PacketError("bad_body", "body tag does not verify");
  }
  const payload = decodePayload(plaintext);
  if (payload.ttl !== header.ttl || payload.bor !== header.bor || payload.sentAt !== header.sentAt || payload.conversationId !== header.conversationId) {
    throw new PacketError("bad_body", "payload disagrees with the signed header");
  }
  return { header, payload, prekeyId: wrap.prekeyId };
}

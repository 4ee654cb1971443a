// The key hierarchy of PROTOCOL.md: a user's root signing key, device keys certified by the
// root, and prekeys signed by the device key; plus the fingerprint and safety number users
// compare to verify each other. All signed objects are canonical bytes (layouts in README.md).

import {
  concatBytes,
  shortBytes,
  systemRandom,
  u64be,
  u8,
  utf8,
  type RandomSource,
} from "./bytes.ts";
import { PacketError } from "./errors.ts";
import { assertDeviceId, assertUserId, isDeviceId, isUserId } from "./ids.ts";
import { ByteReader } from "./reader.ts";
import {
  generateAgreementKeyPair,
  generateSigningKeyPair,
  getSuite,
  importPublicKey,
  sha256,
  sign,
  suiteByCode,
  verify,
  type KeyPair,
  type SuiteId,
} from "./suites.ts";

const FORMAT_VERSION = 1;
// Each signature input starts with its own label so a signature over one kind of object
// can never be replayed as a signature over another.
const DEVICE_CERT_LABEL = utf8("outpost/v1/device-cert\0");
const PREKEY_LABEL = utf8("outpost/v1/prekey\0");
const SAFETY_LABEL = utf8("outpost/v1/safety-number\0");

export function generateRootKey(suite: SuiteId, random: RandomSource = systemRandom): Promise<KeyPair> {
  return generateSigningKeyPair(suite, random);
}

/** SHA-256 of the raw root public key, whatever the suite: what contacts verify. */
export function rootFingerprint(rootPublicKey: Uint8Array): Promise<Uint8Array> {
  return sha256(rootPublicKey);
}

export interface DeviceCertificate {
  suite: SuiteId;
  userId: string;
  deviceId: string;
  devicePublicKey: Uint8Array;
  createdAt: number;
  signature: Uint8Array;
  /** The signed part (everything before the signature). */
  body: Uint8Array;
}

export interface Device {
  suite: SuiteId;
  userId: string;
  deviceId: string;
  deviceKey: KeyPair;
  /** Encoded certificate, as published to the server and handed to contacts. */
  certificate: Uint8Array;
}

function deviceCertBody(suite: SuiteId, userId: string, deviceId: string, devicePublicKey: Uint8Array, createdAt: number): Uint8Array {
  return concatBytes(
    u8(FORMAT_VERSION),
    u8(getSuite(suite).code),
    shortBytes(utf8(userId)),
    shortBytes(utf8(deviceId)),
    shortBytes(devicePublicKey),
    u64be(BigInt(createdAt)),
  );
}

/** Creates a device key and its certificate signed by the root key. */
export async function createDevice(options: {
  root: KeyPair;
  userId: string;
  deviceId: string;
  createdAt?: number;
  random?: RandomSource;
}): Promise<Device> {
  assertUserId(options.userId);
  assertDeviceId(options.deviceId);
  const suite = options.root.suite;
  const deviceKey = await generateSigningKeyPair(suite, options.random ?? systemRandom);
  const body = deviceCertBody(suite, options.userId, options.deviceId, deviceKey.publicBytes, options.createdAt ?? Date.now());
  const signature = await sign(suite, options.root.privateKey, concatBytes(DEVICE_CERT_LABEL, body));
  return { suite, userId: options.userId, deviceId: options.deviceId, deviceKey, certificate: concatBytes(body, signature) };
}

export function decodeDeviceCertificate(bytes: Uint8Array): DeviceCertificate {
  const reader = new ByteReader(bytes);
  if (reader.u8("certificate version") !== FORMAT_VERSION) throw new PacketError("malformed", "certificate version");
  const suite = suiteByCode(reader.u8("certificate suite"));
  const userId = reader.shortText("certificate user id");
  const deviceId = reader.shortText("certificate device id");
  const devicePublicKey = reader.shortBytes("certificate device key");
  const createdAt = reader.safeU64("certificate created time");
  const bodyLength = reader.offset;
  const signature = reader.take(suite.signatureLength, "certificate signature");
  reader.end("certificate");
  if (!isUserId(userId) || !isDeviceId(deviceId) || devicePublicKey.length !== suite.publicKeyLength) {
    throw new PacketError("malformed", "certificate fields");
  }
  return { suite: suite.id, userId, deviceId, devicePublicKey, createdAt, signature, body: bytes.subarray(0, bodyLength) };
}

/**
 * Decodes a certificate and checks the root's signature on it (and, when given, that it
 * names the expected user and device). Any failure is "device_not_signed": the server
 * must not be able to slip in a device the user's root key never certified.
 */
export async function verifyDeviceCertificate(
  bytes: Uint8Array,
  rootPublicKey: Uint8Array,
  expect: { userId?: string; deviceId?: string; suite?: SuiteId } = {},
): Promise<DeviceCertificate> {
  let cert: DeviceCertificate;
  try {
    cert = decodeDeviceCertificate(bytes);
  } catch (error) {
    throw new PacketError("device_not_signed", `undecodable certificate (${(error as Error).message})`);
  }
  if (expect.userId !== undefined && cert.userId !== expect.userId) throw new PacketError("device_not_signed", "certificate names another user");
  if (expect.deviceId !== undefined && cert.deviceId !== expect.deviceId) throw new PacketError("device_not_signed", "certificate names another device");
  if (expect.suite !== undefined && cert.suite !== expect.suite) throw new PacketError("device_not_signed", "certificate is for another suite");
  let ok = false;
  try {
    const root = await importPublicKey(cert.suite, "signature", rootPublicKey);
    ok = await verify(cert.suite, root, cert.signature, concatBytes(DEVICE_CERT_LABEL, cert.body));
  } catch {
    ok = false;
  }
  if (!ok) throw new PacketError("device_not_signed", "root signature does not verify");
  return cert;
}

export type PrekeyKind = "one-time" | "last-resort";

export interface SignedPrekey {
  suite: SuiteId;
  deviceId: string;
  /** Unsigned 64-bit id in decimal. */
  id: string;
  kind: PrekeyKind;
  createdAt: number;
  publicKey: Uint8Array;
  signature: Uint8Array;
  body: Uint8Array;
}

export interface PrekeyPrivate {
  id: string;
  kind: PrekeyKind;
  keyPair: KeyPair;
}

const KIND_CODES: Record<PrekeyKind, number> = { "one-time": 1, "last-resort": 2 };

/** Creates and signs prekeys: `count` one-time keys plus, unless disabled, one last-resort key. */
export async function createPrekeys(options: {
  device: Pick<Device, "suite" | "deviceId" | "deviceKey">;
  count?: number;
  lastResort?: boolean;
  createdAt?: number;
  random?: RandomSource;
}): Promise<{ published: Uint8Array[]; secrets: PrekeyPrivate[] }> {
  const { device } = options;
  const random = options.random ?? systemRandom;
  const createdAt = options.createdAt ?? Date.now();
  const kinds: PrekeyKind[] = Array.from({ length: options.count ?? 100 }, () => "one-time" as const);
  if (options.lastResort !== false) kinds.push("last-resort");
  const published: Uint8Array[] = [];
  const secrets: PrekeyPrivate[] = [];
  for (const kind of kinds) {
    const idBytes = await random(8);
    const id = new DataView(idBytes.buffer, idBytes.byteOffset, 8).getBigUint64(0);
    const keyPair = await generateAgreementKeyPair(device.suite, random);
    const body = concatBytes(
      u8(FORMAT_VERSION),
      u8(getSuite(device.suite).code),
      shortBytes(utf8(device.deviceId)),
      u64be(id),
      u8(KIND_CODES[kind]),
      u64be(BigInt(createdAt)),
      shortBytes(keyPair.publicBytes),
    );
    const signature = await sign(device.suite, device.deviceKey.privateKey, concatBytes(PREKEY_LABEL, body));
    published.push(concatBytes(body, signature));
    secrets.push({ id: id.toString(), kind, keyPair });
  }
  return { published, secrets };
}

export function decodePrekey(bytes: Uint8Array): SignedPrekey {
  const reader = new ByteReader(bytes);
  if (reader.u8("prekey version") !== FORMAT_VERSION) throw new PacketError("malformed", "prekey version");
  const suite = suiteByCode(reader.u8("prekey suite"));
  const deviceId = reader.shortText("prekey device id");
  const id = reader.u64("prekey id").toString();
  const kindCode = reader.u8("prekey kind");
  const kind = kindCode === 1 ? "one-time" : kindCode === 2 ? "last-resort" : undefined;
  const createdAt = reader.safeU64("prekey created time");
  const publicKey = reader.shortBytes("prekey public key");
  const bodyLength = reader.offset;
  const signature = reader.take(suite.signatureLength, "prekey signature");
  reader.end("prekey");
  if (!kind || !isDeviceId(deviceId) || publicKey.length !== suite.publicKeyLength) throw new PacketError("malformed", "prekey fields");
  return { suite: suite.id, deviceId, id, kind, createdAt, publicKey, signature, body: bytes.subarray(0, bodyLength) };
}

/** Checks a claimed prekey against the (already root-verified) certificate of its device. */
export async function verifyPrekey(bytes: Uint8Array, cert: DeviceCertificate): Promise<SignedPrekey> {
  const prekey = decodePrekey(bytes);
  if (prekey.deviceId !== cert.deviceId || prekey.suite !== cert.suite) throw new PacketError("bad_signature", "prekey belongs to another device");
  const deviceKey = await importPublicKey(cert.suite, "signature", cert.devicePublicKey);
  if (!(await verify(cert.suite, deviceKey, prekey.signature, concatBytes(PREKEY_LABEL, prekey.body)))) {
    throw new PacketError("bad_signature", "prekey signature does not verify");
  }
  return prekey;
}

async function safetyDigits(userId: string, rootPublicKey: Uint8Array): Promise<string> {
  const fingerprint = await rootFingerprint(rootPublicKey);
  const hash = await sha256(concatBytes(SAFETY_LABEL, shortBytes(utf8(userId)), fingerprint));
  let digits = "";
  // Six 40-bit chunks, each reduced to five decimal digits (bias below 2^-23 per chunk).
  for (let chunk = 0; chunk < 6; chunk++) {
    let value = 0;
    for (let i = 0; i < 5; i++) value = value * 256 + hash[chunk * 5 + i]!;
    digits += String(value % 100000).padStart(5, "0");
  }
  return digits;
}

/**
 * A 60-digit number two users read to each other: 30 digits per user from their id and
 * root key, in sorted order so both see the same number. Grouped in fives for reading aloud.
 */
export async function safetyNumber(
  a: { userId: string; rootPublicKey: Uint8Array },
  b: { userId: string; rootPublicKey: Uint8Array },
): Promise<string> {
  const halves = [await safetyDigits(a.userId, a.rootPublicKey), await safetyDigits(b.userId, b.rootPublicKey)].sort();
  return (halves.join("").match(/.{5}/g) ?? []).join(" ");
}

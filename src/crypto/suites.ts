// The two cipher suites of PROTOCOL.md and every primitive the protocol uses, all over
// WebCrypto so the same code runs in Bun and in browsers. Keys are imported from raw
// scalars drawn from an injectable random source, which makes test vectors reproducible.

import { PacketError } from "./errors.ts";
import { buffer, concatBytes, fromBase64url, systemRandom, type RandomSource } from "./bytes.ts";

export const SUITE_IDS = ["x25519-ed25519-a256gcm-sha256", "p384-a256gcm-sha384"] as const;
export type SuiteId = (typeof SUITE_IDS)[number];
export const DEFAULT_SUITE: SuiteId = "x25519-ed25519-a256gcm-sha256";

export interface Suite {
  id: SuiteId;
  /** One byte on the wire; 0 is never used so a zeroed buffer is not a valid packet. */
  code: number;
  hash: "SHA-256" | "SHA-384";
  hashLength: number;
  agreement: EcKeyImportParams | Algorithm;
  signature: EcKeyImportParams | Algorithm;
  signParams: EcdsaParams | Algorithm;
  publicKeyLength: number;
  signatureLength: number;
  /** Private scalar length: the bytes drawn from the random source for one key. */
  scalarLength: number;
  sharedSecretBits: number;
}

const SUITES: Record<SuiteId, Suite> = {
  "x25519-ed25519-a256gcm-sha256": {
    id: "x25519-ed25519-a256gcm-sha256",
    code: 1,
    hash: "SHA-256",
    hashLength: 32,
    agreement: { name: "X25519" },
    signature: { name: "Ed25519" },
    signParams: { name: "Ed25519" },
    publicKeyLength: 32,
    signatureLength: 64,
    scalarLength: 32,
    sharedSecretBits: 256,
  },
  "p384-a256gcm-sha384": {
    id: "p384-a256gcm-sha384",
    code: 2,
    hash: "SHA-384",
    hashLength: 48,
    agreement: { name: "ECDH", namedCurve: "P-384" },
    signature: { name: "ECDSA", namedCurve: "P-384" },
    signParams: { name: "ECDSA", hash: "SHA-384" },
    // Uncompressed point 0x04 ‖ X ‖ Y, the only raw form WebCrypto imports everywhere.
    publicKeyLength: 97,
    // IEEE P1363 r ‖ s, what WebCrypto produces.
    signatureLength: 96,
    scalarLength: 48,
    sharedSecretBits: 384,
  },
};

export function getSuite(id: string): Suite {
  const suite = (SUITES as Record<string, Suite | undefined>)[id];
  if (!suite) throw new PacketError("unknown_suite", id);
  return suite;
}

export function suiteByCode(code: number): Suite {
  for (const suite of Object.values(SUITES)) if (suite.code === code) return suite;
  throw new PacketError("unknown_suite", `code ${code}`);
}

export interface KeyPair {
  suite: SuiteId;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Raw public key bytes as carried on the wire. */
  publicBytes: Uint8Array;
  /** The private scalar (Ed25519 seed, X25519 scalar, P-384 d); kept so keys can move between devices. */
  privateBytes: Uint8Array;
}

// PKCS#8 wrappers for a bare private scalar. WebCrypto has no "raw private" import,
// and JWK import of EC keys demands the public point we do not have yet.
const PKCS8_ED25519 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
const PKCS8_X25519 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);
// SEQ { 0, AlgId{ecPublicKey, secp384r1}, OCTET STRING ECPrivateKey{1, d, [0] secp384r1} }
const PKCS8_P384_HEAD = Uint8Array.of(
  0x30, 0x57, 0x02, 0x01, 0x00,
  0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22,
  0x04, 0x40, 0x30, 0x3e, 0x02, 0x01, 0x01, 0x04, 0x30,
);
const PKCS8_P384_TAIL = Uint8Array.of(0xa0, 0x07, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22);

function pkcs8(suite: Suite, kind: "agreement" | "signature", scalar: Uint8Array): Uint8Array {
  if (scalar.length !== suite.scalarLength) throw new RangeError(`private key must be ${suite.scalarLength} bytes`);
  if (suite.code === 2) return concatBytes(PKCS8_P384_HEAD, scalar, PKCS8_P384_TAIL);
  return concatBytes(kind === "signature" ? PKCS8_ED25519 : PKCS8_X25519, scalar);
}

async function importPair(suite: Suite, kind: "agreement" | "signature", scalar: Uint8Array): Promise<KeyPair> {
  const algorithm = kind === "signature" ? suite.signature : suite.agreement;
  const privateUsages: KeyUsage[] = kind === "signature" ? ["sign"] : ["deriveBits"];
  const publicUsages: KeyUsage[] = kind === "signature" ? ["verify"] : [];
  const privateKey = await crypto.subtle.importKey("pkcs8", buffer(pkcs8(suite, kind, scalar)), algorithm, true, privateUsages);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const publicBytes =
    suite.code === 2
      ? concatBytes(Uint8Array.of(4), fromBase64url(jwk.x ?? ""), fromBase64url(jwk.y ?? ""))
      : fromBase64url(jwk.x ?? "");
  const publicKey = await crypto.subtle.importKey("raw", buffer(publicBytes), algorithm, true, publicUsages);
  return { suite: suite.id, privateKey, publicKey, publicBytes, privateBytes: scalar.slice() };
}

export function importSigningKeyPair(suiteId: SuiteId, scalar: Uint8Array): Promise<KeyPair> {
  return importPair(getSuite(suiteId), "signature", scalar);
}

export function importAgreementKeyPair(suiteId: SuiteId, scalar: Uint8Array): Promise<KeyPair> {
  return importPair(getSuite(suiteId), "agreement", scalar);
}

async function generatePair(suiteId: SuiteId, kind: "agreement" | "signature", random: RandomSource): Promise<KeyPair> {
  const suite = getSuite(suiteId);
  // A P-384 scalar must be in [1, n-1]; a uniform 48-byte draw misses with probability ~2^-190,
  // but retrying keeps the function total instead of relying on that.
  for (let attempt = 0; attempt < 8; attempt++) {
    const scalar = await random(suite.scalarLength);
    try {
      return await importPair(suite, kind, scalar);
    } catch (error) {
      if (suite.code !== 2) throw error;
    }
  }
  throw new Error("random source keeps producing invalid P-384 scalars");
}

export function generateSigningKeyPair(suiteId: SuiteId, random: RandomSource = systemRandom): Promise<KeyPair> {
  return generatePair(suiteId, "signature", random);
}

export function generateAgreementKeyPair(suiteId: SuiteId, random: RandomSource = systemRandom): Promise<KeyPair> {
  return generatePair(suiteId, "agreement", random);
}

/** Imports a raw public key, refusing wrong lengths and points WebCrypto rejects. */
export async function importPublicKey(suiteId: SuiteId, kind: "agreement" | "signature", bytes: Uint8Array): Promise<CryptoKey> {
  const suite = getSuite(suiteId);
  if (bytes.length !== suite.publicKeyLength) throw new RangeError(`public key must be ${suite.publicKeyLength} bytes`);
  const algorithm = kind === "signature" ? suite.signature : suite.agreement;
  return crypto.subtle.importKey("raw", buffer(bytes), algorithm, true, kind === "signature" ? ["verify"] : []);
}

export async function sign(suiteId: SuiteId, privateKey: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(getSuite(suiteId).signParams, privateKey, buffer(data)));
}

export async function verify(suiteId: SuiteId, publicKey: CryptoKey, signature: Uint8Array, data: Uint8Array): Promise<boolean> {
  const suite = getSuite(suiteId);
  if (signature.length !== suite.signatureLength) return false;
  return crypto.subtle.verify(suite.signParams, publicKey, buffer(signature), buffer(data));
}

/** ECDH / X25519; an all-zero X25519 output means a small-order peer key and is refused. */
export async function agree(suiteId: SuiteId, privateKey: CryptoKey, publicKey: CryptoKey): Promise<Uint8Array> {
  const suite = getSuite(suiteId);
  const name = suite.code === 2 ? "ECDH" : "X25519";
  const secret = new Uint8Array(await crypto.subtle.deriveBits({ name, public: publicKey }, privateKey, suite.sharedSecretBits));
  if (secret.every((b) => b === 0)) throw new RangeError("degenerate shared secret");
  return secret;
}

export async function hkdf(suiteId: SuiteId, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", buffer(ikm), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: getSuite(suiteId).hash, salt: buffer(salt), info: buffer(info) }, key, length * 8);
  return new Uint8Array(bits);
}

export async function digest(suiteId: SuiteId, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(getSuite(suiteId).hash, buffer(data)));
}

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buffer(data)));
}

export const AES_KEY_LENGTH = 32;
export const GCM_IV_LENGTH = 12;
export const GCM_TAG_LENGTH = 16;

function aesKey(key: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
  if (key.length !== AES_KEY_LENGTH) throw new RangeError("AES-256 key must be 32 bytes");
  return crypto.subtle.importKey("raw", buffer(key), "AES-GCM", false, [usage]);
}

export async function aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = await aesKey(key, "encrypt");
  return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: buffer(iv), additionalData: buffer(aad) }, cryptoKey, buffer(plaintext)));
}

/** Throws on a bad tag; callers turn that into their own error code. */
export async function aesGcmDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = await aesKey(key, "decrypt");
  return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: buffer(iv), additionalData: buffer(aad) }, cryptoKey, buffer(ciphertext)));
}

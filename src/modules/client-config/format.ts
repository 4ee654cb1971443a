// The client configuration file format, isomorphic (Bun, browsers): scrypt
// (pure JS from @noble/hashes, the same function on both sides) derives an
// AES-256-GCM key from the password; the header is authenticated as AAD.
// The SDK and the browser client import openClientConfig from here.
import { scryptAsync } from "@noble/hashes/scrypt.js";

export const CONFIG_FORMAT = "outpost-client-config";
export const CONFIG_VERSION = 1;
/** scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB, about a second); files may say 14..20. */
export const DEFAULT_LOG_N = 17;
const MIN_LOG_N = 14;
const MAX_LOG_N = 20;

export interface ClientConfigPayload {
  v: 1;
  name: string;
  networkId: string;
  networkName: string;
  securityGroupId: string;
  /** Base URL of the Outpost server (HTTP API and WebSocket relay). */
  host: string;
  /** PEM certificates to pin; absent when pinning was not chosen. */
  certificates?: string[];
  issuedAt: string;
  expiresAt: string;
}

export interface ClientConfigFile {
  format: typeof CONFIG_FORMAT;
  v: 1;
  kdf: { name: "scrypt"; logN: number; r: 8; p: 1; salt: string };
  cipher: "AES-256-GCM";
  iv: string;
  ciphertext: string;
}

export class ClientConfigError extends Error {
  constructor(
    readonly code: "malformed" | "wrong_password" | "expired",
    message: string,
  ) {
    super(message);
  }
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
const enc = new TextEncoder();

export type Derive = (password: string, salt: Uint8Array, logN: number) => Promise<Uint8Array>;

/** The portable derivation (pure JS); the server may pass node:crypto's scrypt, which gives the same bytes faster. */
export const scryptDerive: Derive = (password, salt, logN) => scryptAsync(enc.encode(password.normalize("NFKC")), salt, { N: 2 ** logN, r: 8, p: 1, dkLen: 32, maxmem: 2 ** (logN + 11) });

function aad(f: Pick<ClientConfigFile, "format" | "v" | "kdf" | "cipher">): Uint8Array {
  return enc.encode(`${f.format}|${f.v}|${f.kdf.name}|${f.kdf.logN}|${f.kdf.r}|${f.kdf.p}|${f.kdf.salt}|${f.cipher}`);
}

async function aesKey(raw: Uint8Array, use: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw as BufferSource, { name: "AES-GCM" }, false, [use]);
}

export async function sealClientConfig(payload: ClientConfigPayload, password: string, opts: { logN?: number; derive?: Derive } = {}): Promise<string> {
  const logN = opts.logN ?? DEFAULT_LOG_N;
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const head = { format: CONFIG_FORMAT, v: CONFIG_VERSION, kdf: { name: "scrypt", logN, r: 8, p: 1, salt: b64(salt) }, cipher: "AES-256-GCM" } as const;
  const key = await aesKey(await (opts.derive ?? scryptDerive)(password, salt, logN), "encrypt");
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(head) as BufferSource }, key, enc.encode(JSON.stringify(payload))));
  const file: ClientConfigFile = { ...head, iv: b64(iv), ciphertext: b64(ct) };
  return JSON.stringify(file, null, 1);
}

/**
 * Opens a configuration file: a wrong password and a tampered file both fail
 * authentication ("wrong_password"); an expired one is refused after opening.
 */
export async function openClientConfig(text: string, password: string, opts: { now?: Date; derive?: Derive } = {}): Promise<ClientConfigPayload> {
  let f: ClientConfigFile;
  try {
    f = JSON.parse(text) as ClientConfigFile;
  } catch {
    throw new ClientConfigError("malformed", "this is not an Outpost client configuration file");
  }
  if (f?.format !== CONFIG_FORMAT || f.v !== CONFIG_VERSION || f.cipher !== "AES-256-GCM" || f.kdf?.name !== "scrypt" || f.kdf.r !== 8 || f.kdf.p !== 1) {
    throw new ClientConfigError("malformed", "this is not an Outpost client configuration file (version 1)");
  }
  if (!Number.isInteger(f.kdf.logN) || f.kdf.logN < MIN_LOG_N || f.kdf.logN > MAX_LOG_N) throw new ClientConfigError("malformed", "the file's key-derivation cost is out of range");
  let salt: Uint8Array, iv: Uint8Array, ct: Uint8Array;
  try {
    salt = unb64(f.kdf.salt);
    iv = unb64(f.iv);
    ct = unb64(f.ciphertext);
  } catch {
    throw new ClientConfigError("malformed", "the file is damaged (bad base64)");
  }
  if (salt.length !== 16 || iv.length !== 12 || ct.length < 17) throw new ClientConfigError("malformed", "the file is damaged");
  const key = await aesKey(await (opts.derive ?? scryptDerive)(password, salt, f.kdf.logN), "decrypt");
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: iv as BufferSource, additionalData: aad(f) as BufferSource }, key, ct as BufferSource));
  } catch {
    throw new ClientConfigError("wrong_password", "the password is wrong or the file was altered");
  }
  const payload = JSON.parse(new TextDecoder().decode(plain)) as ClientConfigPayload;
  if (new Date(payload.expiresAt).getTime() <= (opts.now ?? new Date()).getTime()) {
    throw new ClientConfigError("expired", `this configuration expired on ${payload.expiresAt}; ask your administrator for a new one`);
  }
  return payload;
}

/** SHA-256 of a PEM certificate's DER bytes, as upper-case hex pairs joined by colons (the SDK's pin format). */
export async function pemFingerprint(pem: string): Promise<string> {
  const der = unb64(pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, ""));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

/**
 * What the SDK's registration starts from (src/client ClientConfig: serviceUrl, networkId,
 * pins), read from an encrypted configuration file: OutpostClient.register({ config: await
 * clientConfigFromFile(text, password), ... }).
 */
export async function clientConfigFromFile(text: string, password: string, opts: { now?: Date; derive?: Derive } = {}): Promise<{ serviceUrl: string; networkId: string; pins?: string[]; certificates?: string[] }> {
  const p = await openClientConfig(text, password, opts);
  const pins = p.certificates?.length ? await Promise.all(p.certificates.map(pemFingerprint)) : undefined;
  return { serviceUrl: p.host, networkId: p.networkId, ...(pins ? { pins, certificates: p.certificates } : {}) };
}

// Moving a user's root key to a new device with a one-time code. The code (20 characters,
// 100 bits) is shown on the old device and typed or scanned on the new one; the server
// holds the bundle under a hash of the code and never sees the key that opens it.
import { decryptChunk, encryptChunk, fromBase64url, importSigningKeyPair, toBase64url, toHex, type KeyPair, type SuiteId } from "../crypto/index.ts";

const CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const BUNDLE_CONTEXT = new TextEncoder().encode("outpost/v1/device-sync");
const enc = (s: string) => new TextEncoder().encode(s);

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
}

/** What the server may see (lookupHash) and what only the two devices know (key). */
export async function syncSecrets(code: string): Promise<{ lookupHash: string; key: Uint8Array }> {
  const norm = code.replace(/[\s-]/g, "").toUpperCase();
  return {
    lookupHash: toHex(await sha256(enc(`outpost/v1/sync-lookup\0${norm}`))),
    key: await sha256(enc(`outpost/v1/sync-key\0${norm}`)),
  };
}

/** A fresh code, grouped in fives for reading aloud, and the bundle sealing the root key under it. */
export async function newSyncBundle(root: KeyPair): Promise<{ code: string; lookupHash: string; bundle: Uint8Array }> {
  const raw = crypto.getRandomValues(new Uint8Array(20));
  const code = [...raw].map((b) => CODE_ALPHABET[b % 32]).join("");
  const { lookupHash, key } = await syncSecrets(code);
  const plain = enc(JSON.stringify({ suite: root.suite, rootPrivate: toBase64url(root.privateBytes) }));
  const bundle = await encryptChunk(key, 0, plain, { final: true, context: BUNDLE_CONTEXT });
  return { code: code.match(/.{5}/g)!.join("-"), lookupHash, bundle };
}

/** Opens a bundle taken from the server with the code the user entered. */
export async function openSyncBundle(code: string, bundle: Uint8Array): Promise<KeyPair> {
  const { key } = await syncSecrets(code);
  const plain = await decryptChunk(key, 0, bundle, { final: true, context: BUNDLE_CONTEXT });
  const { suite, rootPrivate } = JSON.parse(new TextDecoder().decode(plain)) as { suite: SuiteId; rootPrivate: string };
  return importSigningKeyPair(suite, fromBase64url(rootPrivate));
}

// Encrypts small secrets kept in the database (administrators' TOTP seeds)
// with AES-256-GCM under a key file in the data directory, so a copy of the
// database alone (a backup, an export, a support bundle) does not reveal them.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SECRET_KEY_FILE = "secret.key";
const keys = new Map<string, Buffer>();

function keyFor(dataDir: string): Buffer {
  const cached = keys.get(dataDir);
  if (cached) return cached;
  const path = join(dataDir, SECRET_KEY_FILE);
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    key = randomBytes(32);
    try {
      writeFileSync(path, key, { mode: 0o600, flag: "wx" });
    } catch (w) {
      // Another process created it first: use theirs.
      if ((w as NodeJS.ErrnoException).code !== "EEXIST") throw w;
      key = readFileSync(path);
    }
  }
  if (key.length !== 32) throw new Error(`${path} must hold exactly 32 bytes`);
  keys.set(dataDir, key);
  return key;
}

/** "v1." + base64url(iv ‖ tag ‖ ciphertext). */
export function sealSecret(dataDir: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFor(dataDir), iv);
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return "v1." + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString("base64url");
}

export function openSecret(dataDir: string, sealed: string): string {
  if (!sealed.startsWith("v1.")) throw new Error("unknown secret format");
  const raw = Buffer.from(sealed.slice(3), "base64url");
  const decipher = createDecipheriv("aes-256-gcm", keyFor(dataDir), raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}

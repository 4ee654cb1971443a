// The shared secret that authenticates the messaging server to its calling node
// (control channel): kept in <dataDir>/calling/node.secret, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function secretPath(dataDir: string): string {
  return join(dataDir, "calling", "node.secret");
}

/** Reads the secret, creating it (0600) on first use; a node on its own host gets a copy of this file. */
export function ensureCallingSecret(dataDir: string): string {
  const path = secretPath(dataDir);
  if (existsSync(path)) {
    const s = readFileSync(path, "utf8").trim();
    if (!/^[0-9a-f]{64}$/.test(s)) throw new Error(`${path}: expected 64 hex characters (delete it to have a new one made)`);
    return s;
  }
  mkdirSync(join(dataDir, "calling"), { recursive: true, mode: 0o700 });
  const s = randomBytes(32).toString("hex");
  // "wx" so two processes starting together cannot overwrite each other's secret.
  try {
    writeFileSync(path, s + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return ensureCallingSecret(dataDir);
    throw e;
  }
  chmodSync(path, 0o600);
  return s;
}

/** Constant-time check of a presented secret: both sides are hashed first so their lengths never leak. */
export function secretMatches(presented: string | null | undefined, expected: string): boolean {
  const a = createHash("sha256").update(presented ?? "").digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && presented != null;
}

/** `Authorization: Bearer <secret>` → the secret, or null. */
export function bearer(header: string | null): string | null {
  const m = /^Bearer ([^\s]+)$/.exec(header ?? "");
  return m ? m[1]! : null;
}

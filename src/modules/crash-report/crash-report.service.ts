// The crash report: a zip a super administrator downloads and sends to
// support, holding recent logs, the configuration with secrets redacted,
// versions and readiness. Nothing secret may end up inside: secrets are
// redacted by key, and log lines are scrubbed for anything token-shaped.
import { strToU8, zipSync } from "fflate";
import type { AppContext } from "../../app/context.ts";
import { readiness } from "../system/system.service.ts";

const SECRET_KEY = /pass|secret|token|key|cookie|session|csrf|hash|totp|auth|cert/i;

/** A copy of `value` with every secret-looking key's value replaced. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? (v === undefined || v === null ? v : "[redacted]") : redact(v)]));
  }
  return value;
}

/**
 * Log lines are JSON from pino, which already drops password/token/cookie
 * fields; this second pass redacts secret-named fields at any depth and any
 * long hex or token-shaped string, in case a future log call slips one in.
 */
function scrubLine(line: string): string {
  let out = line;
  try {
    out = JSON.stringify(redact(JSON.parse(line)));
  } catch {
    // Not JSON: keep the text, the pattern pass below still applies.
  }
  return out
    .replace(/opt_[0-9a-f]{16,}/g, "[redacted-token]")
    .replace(/\b[0-9a-f]{32,}\b/g, "[redacted-hex]")
    .replace(/\$argon2[^"\s]*/g, "[redacted-hash]");
}

export async function buildCrashReport(ctx: AppContext): Promise<Uint8Array> {
  const logs = ctx.log.ring.snapshot().map(scrubLine).join("\n") + "\n";
  const versions = { outpost: ctx.version, bun: Bun.version, sqlite: ctx.storage.sqliteVersion, platform: process.platform, arch: process.arch };
  const health = await readiness(ctx);
  const now = new Date();
  const files: Record<string, Uint8Array> = {
    "README.txt": strToU8(
      `Outpost crash report, ${now.toISOString()}\n\nlogs.jsonl     the most recent log lines (secrets redacted)\nconfig.json    effective configuration, secrets redacted\nversions.json  software versions\nhealth.json    readiness checks at the time of the report\n`,
    ),
    "logs.jsonl": strToU8(logs),
    "config.json": strToU8(JSON.stringify(redact(ctx.config), null, 2)),
    "versions.json": strToU8(JSON.stringify({ ...versions, uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000) }, null, 2)),
    "health.json": strToU8(JSON.stringify(health, null, 2)),
  };
  return zipSync(files, { level: 6, mtime: now });
}

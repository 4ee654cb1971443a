// RFC 6238 time-based one-time passwords for administrators: 30 s steps,
// SHA-1, 6 digits, at most one step of clock skew, each step usable once.
import * as OTPAuth from "otpauth";
import { renderSVG } from "uqr";

export const TOTP_ISSUER = "Outpost";

function totp(secret: string, label = "admin") {
  return new OTPAuth.TOTP({ issuer: TOTP_ISSUER, label, algorithm: "SHA1", digits: 6, period: 30, secret: OTPAuth.Secret.fromBase32(secret) });
}

export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

export function totpUri(secret: string, username: string): string {
  return totp(secret, username).toString();
}

/** The QR code of an otpauth:// URI as an SVG document, rendered by Outpost itself. */
export function totpQrSvg(uri: string): string {
  return renderSVG(uri, { border: 2, ecc: "M" });
}

/**
 * The time step a code belongs to (within ±1 step of now), or null when it
 * matches none. Callers refuse steps at or before the last one accepted.
 */
export function totpStep(secret: string, code: string, now = Date.now()): number | null {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const delta = totp(secret).validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return null;
  return Math.floor(now / 30_000) + delta;
}

/** The current code (tests and the browser test compute codes with this). */
export function totpCode(secret: string, now = Date.now()): string {
  return totp(secret).generate({ timestamp: now });
}

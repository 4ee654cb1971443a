// RFC 6238 codes: the reference vector, 30 s steps, at most one step of skew.
import { describe, expect, test } from "vitest";
import { newTotpSecret, totpCode, totpQrSvg, totpStep, totpUri } from "./totp.ts";

// RFC 6238 appendix B: SHA-1 key "12345678901234567890" (base32 below), T = 59 s → 94287082 (8 digits; the last 6 are ours).
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

describe("totp", () => {
  test("matches the RFC 6238 test vector", () => {
    expect(totpCode(RFC_SECRET, 59_000)).toBe("287082");
    expect(totpCode(RFC_SECRET, 1_111_111_109_000)).toBe("081804");
  });

  test("accepts the current step and one step either side, nothing further", () => {
    const now = 1_700_000_015_000;
    const step = Math.floor(now / 30_000);
    expect(totpStep(RFC_SECRET, totpCode(RFC_SECRET, now), now)).toBe(step);
    expect(totpStep(RFC_SECRET, totpCode(RFC_SECRET, now - 30_000), now)).toBe(step - 1);
    expect(totpStep(RFC_SECRET, totpCode(RFC_SECRET, now + 30_000), now)).toBe(step + 1);
    expect(totpStep(RFC_SECRET, totpCode(RFC_SECRET, now - 60_000), now)).toBeNull();
    expect(totpStep(RFC_SECRET, totpCode(RFC_SECRET, now + 60_000), now)).toBeNull();
    expect(totpStep(RFC_SECRET, "12345", now)).toBeNull();
    expect(totpStep(RFC_SECRET, "abcdef", now)).toBeNull();
  });

  test("new secrets are 160-bit base32; the URI and QR code carry them", () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(secret);
    const uri = totpUri(secret, "alice");
    expect(uri).toBe(`otpauth://totp/Outpost:alice?issuer=Outpost&secret=${secret}&algorithm=SHA1&digits=6&period=30`);
    expect(totpQrSvg(uri)).toMatch(/^<svg[^>]*viewBox/);
  });
});

// The node secret: made once with owner-only permissions, read back unchanged, refused
// when damaged, compared without an early exit.
import { statSync, writeFileSync } from "node:fs";
import { expect, test } from "vitest";
import { tempDir } from "../../test/support/server.ts";
import { bearer, ensureCallingSecret, secretMatches, secretPath } from "./secret.ts";

test("created once (0600), then read back", () => {
  const dir = tempDir();
  const s = ensureCallingSecret(dir);
  expect(s).toMatch(/^[0-9a-f]{64}$/);
  expect(statSync(secretPath(dir)).mode & 0o777).toBe(0o600);
  expect(ensureCallingSecret(dir)).toBe(s);
});

test("a damaged secret file is refused with a way out", () => {
  const dir = tempDir();
  ensureCallingSecret(dir);
  writeFileSync(secretPath(dir), "short");
  expect(() => ensureCallingSecret(dir)).toThrow(/64 hex characters/);
});

test("comparison: exact match only; missing, shorter, longer and empty are refused", () => {
  const s = "ab".repeat(32);
  expect(secretMatches(s, s)).toBe(true);
  for (const other of [null, undefined, "", s.slice(1), s + "0", "cd".repeat(32)]) expect(secretMatches(other, s)).toBe(false);
  expect(bearer(`Bearer ${s}`)).toBe(s);
  for (const h of [null, "", s, `Basic ${s}`, `Bearer  ${s}`, `Bearer ${s} x`]) expect(bearer(h)).toBeNull();
});

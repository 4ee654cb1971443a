// Sealed secrets: round trip, tamper detection, one key per data directory.
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { SECRET_KEY_FILE, openSecret, sealSecret } from "./secret-box.ts";

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), "outpost-box-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("seals and opens; the key file is created private", () => {
  const d = dir();
  const sealed = sealSecret(d, "JBSWY3DPEHPK3PXP");
  expect(sealed).toMatch(/^v1\./);
  expect(sealed).not.toContain("JBSWY3DPEHPK3PXP");
  expect(sealSecret(d, "JBSWY3DPEHPK3PXP")).not.toBe(sealed);
  expect(openSecret(d, sealed)).toBe("JBSWY3DPEHPK3PXP");
  expect(statSync(join(d, SECRET_KEY_FILE)).mode & 0o777).toBe(0o600);
});

test("refuses tampered data, another directory's key, unknown formats and bad key files", () => {
  const d = dir();
  const sealed = sealSecret(d, "secret");
  const flipped = sealed.slice(0, -2) + (sealed.at(-2) === "A" ? "B" : "A") + sealed.at(-1);
  expect(() => openSecret(d, flipped)).toThrow();
  expect(() => openSecret(dir(), sealed)).toThrow();
  expect(() => openSecret(d, "plain")).toThrow(/format/);
  const bad = dir();
  writeFileSync(join(bad, SECRET_KEY_FILE), "short");
  expect(() => sealSecret(bad, "x")).toThrow(/32 bytes/);
});

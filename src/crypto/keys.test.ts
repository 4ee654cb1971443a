import { describe, expect, it } from "vitest";
import { toHex } from "./bytes.ts";
import { PacketError } from "./errors.ts";
import { createDevice, createPrekeys, decodeDeviceCertificate, generateRootKey, rootFingerprint, safetyNumber, verifyDeviceCertificate, verifyPrekey } from "./keys.ts";
import { SUITE_IDS } from "./suites.ts";

async function codeOf(promise: Promise<unknown>) {
  return promise.then(() => "ok", (error: unknown) => (error instanceof PacketError ? error.code : String(error)));
}

describe.each(SUITE_IDS)("key hierarchy, suite %s", (suite) => {
  it("certifies a device with the root key, and nothing else verifies", async () => {
    const root = await generateRootKey(suite);
    const other = await generateRootKey(suite);
    const device = await createDevice({ root, userId: "alice@site", deviceId: "alice-phone", createdAt: 1234 });
    const cert = await verifyDeviceCertificate(device.certificate, root.publicBytes, { userId: "alice@site", deviceId: "alice-phone" });
    expect(cert).toMatchObject({ suite, userId: "alice@site", deviceId: "alice-phone", createdAt: 1234 });
    expect(cert.devicePublicKey).toEqual(device.deviceKey.publicBytes);
    expect(await codeOf(verifyDeviceCertificate(device.certificate, other.publicBytes))).toBe("device_not_signed");
    expect(await codeOf(verifyDeviceCertificate(device.certificate, root.publicBytes, { userId: "bob@site" }))).toBe("device_not_signed");
    expect(await codeOf(verifyDeviceCertificate(device.certificate, root.publicBytes, { deviceId: "alice-tablet" }))).toBe("device_not_signed");
    for (let at = 0; at < device.certificate.length; at += 7) {
      const tampered = device.certificate.slice();
      tampered[at]! ^= 1;
      expect(await codeOf(verifyDeviceCertificate(tampered, root.publicBytes))).toBe("device_not_signed");
    }
  });

  it("signs prekeys with the device key", async () => {
    const root = await generateRootKey(suite);
    const device = await createDevice({ root, userId: "alice@site", deviceId: "alice-phone" });
    const other = await createDevice({ root, userId: "alice@site", deviceId: "alice-tablet" });
    const cert = decodeDeviceCertificate(device.certificate);
    const { published, secrets } = await createPrekeys({ device, count: 3 });
    expect(secrets.map((s) => s.kind)).toEqual(["one-time", "one-time", "one-time", "last-resort"]);
    for (const [i, bytes] of published.entries()) {
      const prekey = await verifyPrekey(bytes, cert);
      expect(prekey.id).toBe(secrets[i]!.id);
      expect(prekey.publicKey).toEqual(secrets[i]!.keyPair.publicBytes);
    }
    expect(await codeOf(verifyPrekey(published[0]!, decodeDeviceCertificate(other.certificate)))).toBe("bad_signature");
    const tampered = published[0]!.slice();
    tampered[tampered.length - 70]! ^= 1;
    expect(await codeOf(verifyPrekey(tampered, cert))).not.toBe("ok");
  });

  it("fingerprints the root key with SHA-256 of its raw bytes", async () => {
    const root = await generateRootKey(suite);
    const expected = new Uint8Array(await crypto.subtle.digest("SHA-256", root.publicBytes as Uint8Array<ArrayBuffer>));
    expect(toHex(await rootFingerprint(root.publicBytes))).toBe(toHex(expected));
  });
});

describe("prekey pool", () => {
  it("makes 100 one-time prekeys with distinct decimal 64-bit ids and one last-resort key", async () => {
    const root = await generateRootKey("x25519-ed25519-a256gcm-sha256");
    const device = await createDevice({ root, userId: "alice@site", deviceId: "alice-phone" });
    const { published, secrets } = await createPrekeys({ device });
    expect(published).toHaveLength(101);
    expect(new Set(secrets.map((s) => s.id)).size).toBe(101);
    for (const s of secrets) expect(s.id).toMatch(/^(0|[1-9][0-9]*)$/);
    expect(secrets.filter((s) => s.kind === "last-resort")).toHaveLength(1);
  });
});

describe("safety number", () => {
  it("is 60 digits, the same from both sides, and changes with either root key", async () => {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => generateRootKey("x25519-ed25519-a256gcm-sha256")));
    const alice = { userId: "alice@site", rootPublicKey: a!.publicBytes };
    const bob = { userId: "bob@site", rootPublicKey: b!.publicBytes };
    const number = await safetyNumber(alice, bob);
    expect(number).toMatch(/^\d{5}( \d{5}){11}$/);
    expect(await safetyNumber(bob, alice)).toBe(number);
    expect(await safetyNumber(alice, { ...bob, rootPublicKey: c!.publicBytes })).not.toBe(number);
    expect(await safetyNumber({ ...alice, rootPublicKey: c!.publicBytes }, bob)).not.toBe(number);
    expect(await safetyNumber({ ...alice, userId: "mallory@site" }, bob)).not.toBe(number);
  });
});

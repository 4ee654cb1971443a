// The configuration file format with the portable scrypt (what browsers run):
// round trip, wrong password, tampering with any part, malformed files, cost bounds, expiry.
import { describe, expect, test } from "vitest";
import { clientConfigFromFile, openClientConfig, pemFingerprint, sealClientConfig, type ClientConfigPayload } from "./format.ts";

const payload: ClientConfigPayload = {
  v: 1, name: "Phones", networkId: "n1", networkName: "Net", securityGroupId: "g1", host: "https://chat.example.org",
  issuedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
};

describe("client configuration format", async () => {
  const text = await sealClientConfig(payload, "correct horse", { logN: 14 });

  test("opens with the password; the SDK config carries host and network", async () => {
    expect(await openClientConfig(text, "correct horse")).toEqual(payload);
    expect(await clientConfigFromFile(text, "correct horse")).toEqual({ serviceUrl: payload.host, networkId: "n1" });
  });

  test("a wrong password and every tampered field fail", async () => {
    await expect(openClientConfig(text, "correct horsE")).rejects.toMatchObject({ code: "wrong_password" });
    const f = JSON.parse(text);
    const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
    for (const changed of [{ ...f, iv: flip(f.iv) }, { ...f, ciphertext: flip(f.ciphertext) }, { ...f, kdf: { ...f.kdf, salt: flip(f.kdf.salt) } }, { ...f, kdf: { ...f.kdf, logN: 15 } }]) {
      await expect(openClientConfig(JSON.stringify(changed), "correct horse")).rejects.toMatchObject({ code: "wrong_password" });
    }
  });

  test("malformed files and out-of-range costs are refused before any derivation", async () => {
    const f = JSON.parse(text);
    for (const bad of ["not json", "{}", JSON.stringify({ ...f, v: 2 }), JSON.stringify({ ...f, kdf: { ...f.kdf, logN: 30 } }), JSON.stringify({ ...f, kdf: { ...f.kdf, logN: 10 } }), JSON.stringify({ ...f, iv: "!!" }), JSON.stringify({ ...f, cipher: "AES-128-CBC" })]) {
      await expect(openClientConfig(bad, "correct horse")).rejects.toMatchObject({ code: "malformed" });
    }
  });

  test("an expired configuration fails with a clear error", async () => {
    await expect(openClientConfig(text, "correct horse", { now: new Date(Date.now() + 2 * 86_400_000) })).rejects.toMatchObject({ code: "expired", message: expect.stringContaining("expired on") });
  });

  test("pinned certificates become SDK pins", async () => {
    const { generateSelfSigned, certificateFingerprint } = await import("../../tls/certificate.ts");
    const { cert } = await generateSelfSigned(["localhost"]);
    expect(await pemFingerprint(cert)).toBe(await certificateFingerprint(cert));
    const pinned = await sealClientConfig({ ...payload, certificates: [cert] }, "pw-pw-pw-pw", { logN: 14 });
    expect((await clientConfigFromFile(pinned, "pw-pw-pw-pw")).pins).toEqual([await certificateFingerprint(cert)]);
  });
});

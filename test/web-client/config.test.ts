// loadClientConfig and the landing-link fragment: every malformed input is refused with
// the field it concerns; the clear SDK fixture is accepted as is.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { sealClientConfig } from "../../src/modules/client-config/format.ts";
import { ConfigError, PasswordNeeded, configFromFragment, isEncryptedConfig, loadClientConfig, sameServer } from "../../web/client/config.ts";

const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const good = { serviceUrl: "https://outpost.example:8443/", networkId: "00000000-0000-4000-8000-000000000000" };

async function refused(bytes: Uint8Array, password?: string): Promise<ConfigError> {
  try {
    await loadClientConfig(bytes, password);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("accepted");
}

describe("loadClientConfig", () => {
  test("accepts the SDK's clear configuration fixture", async () => {
    const fixture = readFileSync(fileURLToPath(new URL("../../fixtures/client/client-config.example.json", import.meta.url)));
    const c = await loadClientConfig(new Uint8Array(fixture));
    expect(c).toEqual({ serviceUrl: "https://outpost.example:8443", networkId: "00000000-0000-4000-8000-000000000000", pins: [expect.stringMatching(/^AB:CD/)] });
  });

  test("normalises the service URL to its origin and the network id to lower case", async () => {
    expect(await loadClientConfig(enc({ serviceUrl: "http://127.0.0.1:8080/some/path", networkId: good.networkId.toUpperCase() }))).toEqual({ serviceUrl: "http://127.0.0.1:8080", networkId: good.networkId });
  });

  test.each([
    ["not JSON", enc("{nope"), "file"],
    ["not UTF-8", new Uint8Array([0xff, 0xfe, 0x00]), "file"],
    ["an array", enc([good]), "file"],
    ["null", enc("null"), "file"],
    ["too large", new Uint8Array(64 * 1024 + 1), "file"],
    ["no serviceUrl", enc({ networkId: good.networkId }), "serviceUrl"],
    ["serviceUrl not a URL", enc({ ...good, serviceUrl: "outpost" }), "serviceUrl"],
    ["serviceUrl not http(s)", enc({ ...good, serviceUrl: "ftp://outpost.example" }), "serviceUrl"],
    ["serviceUrl a number", enc({ ...good, serviceUrl: 8443 }), "serviceUrl"],
    ["networkId missing", enc({ serviceUrl: good.serviceUrl }), "networkId"],
    ["networkId malformed", enc({ ...good, networkId: "network-1" }), "networkId"],
    ["pins not a list", enc({ ...good, pins: "AB:CD" }), "pins"],
    ["pins with a number", enc({ ...good, pins: ["AB", 1] }), "pins"],
    ["a damaged password-protected file", enc({ kdf: "pbkdf2", ciphertext: "AAAA" }), "file"],
  ])("refuses %s", async (_name, bytes, field) => {
    expect((await refused(bytes, "pw")).field).toBe(field);
  });
});

describe("password-protected configurations", () => {
  const payload = (expiresAt: string) => ({ v: 1 as const, name: "Field", networkId: good.networkId, networkName: "N", securityGroupId: good.networkId, host: "https://outpost.example:8443", issuedAt: new Date().toISOString(), expiresAt });
  const future = new Date(Date.now() + 86_400_000).toISOString();

  test("opens with its password (and says a password is needed without one)", async () => {
    const file = enc(await sealClientConfig(payload(future), "file password 1", { logN: 14 }));
    expect(isEncryptedConfig(file)).toBe(true);
    expect(isEncryptedConfig(enc(good))).toBe(false);
    expect(await refused(file)).toBeInstanceOf(PasswordNeeded);
    expect(await loadClientConfig(file, "file password 1")).toEqual({ serviceUrl: "https://outpost.example:8443", networkId: good.networkId });
  });

  test("a wrong password, an expired file and a tampered file are told apart", async () => {
    const file = await sealClientConfig(payload(future), "file password 1", { logN: 14 });
    const wrong = await refused(enc(file), "not the password");
    expect([wrong.field, wrong.message]).toEqual(["password", expect.stringContaining("does not open")]);
    const expired = await refused(enc(await sealClientConfig(payload("2020-01-01T00:00:00.000Z"), "file password 1", { logN: 14 })), "file password 1");
    expect([expired.field, expired.message]).toEqual(["expiresAt", expect.stringContaining("expired on 2020-01-01")]);
    const costly = JSON.parse(file) as { kdf: { logN: number } };
    costly.kdf.logN = 30;
    expect((await refused(enc(costly), "file password 1")).field).toBe("file");
  });
});

describe("landing links", () => {
  test("reads #config=<base64url> and nothing else", () => {
    const b64 = Buffer.from(JSON.stringify(good)).toString("base64url");
    expect(new TextDecoder().decode(configFromFragment(`#config=${b64}`)!)).toBe(JSON.stringify(good));
    expect(configFromFragment(`#x=1&config=${b64}`)).not.toBeNull();
    expect(configFromFragment("")).toBeNull();
    expect(configFromFragment("#config=")).toBeNull();
    expect(configFromFragment("#other=abc")).toBeNull();
    expect(configFromFragment("#config=a")).toBeNull(); // not decodable base64
  });

  test("a configuration for another server is told apart", () => {
    expect(sameServer({ serviceUrl: "https://a.example:8443", networkId: good.networkId }, "https://a.example:8443")).toBe(true);
    expect(sameServer({ serviceUrl: "https://a.example:8443", networkId: good.networkId }, "https://b.example:8443")).toBe(false);
  });
});

// Certificate pinning in the SDK (src/client/pinning.ts) against a real server serving its
// own self-signed certificate (tls=auto): a configuration pinning that certificate registers,
// connects the relay and exchanges messages; one pinning another certificate, or listing a
// fingerprint that is not the server's, is refused before anything is sent.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutpostClient } from "../../src/client/client.ts";
import type { ClientConfig } from "../../src/client/api.ts";
import { pinnedTls } from "../../src/client/pinning.ts";
import { certificateFingerprint, generateSelfSigned } from "../../src/tls/certificate.ts";
import { inbox, PASSWORD, startWorld, until, type World } from "./world.ts";

let w: World;
let cert: string;
let base: ClientConfig;

beforeAll(async () => {
  w = await startWorld({ overrides: { tls: "auto" } });
  await w.addUsers(["pia", "quinn", "rex"], { cheapHash: true });
  cert = readFileSync(join(w.server.ctx.config.dataDir, "tls", "cert.pem"), "utf8");
  base = { serviceUrl: w.server.url, networkId: w.networkId };
}, 30_000);
afterAll(async () => {
  await w?.close();
});

const register = (username: string, config: ClientConfig) => OutpostClient.register({ config, username, password: PASSWORD, prekeyCount: 5 });

describe("certificate pinning", () => {
  test("pinning the server's certificate: registration, the relay and messages all work", async () => {
    expect(w.server.url).toMatch(/^https:/);
    const config = { ...base, pins: [await certificateFingerprint(cert)], certificates: [cert] };
    const pia = await register("pia", config);
    const quinn = await register("quinn", config);
    await pia.connect();
    await quinn.connect();
    const got = inbox(quinn);
    const dm = await pia.openDirect({ username: "quinn" });
    await pia.sendText(dm.id, "over a pinned link");
    await until(() => got.some((m) => (m.content as { text?: string }).text === "over a pinned link"), "quinn receives", 8000);
    // The state carries the pins: a restored client still checks them.
    const again = await OutpostClient.restore(pia.exportState());
    expect(again.api.tls).toBeDefined();
    await pia.close();
    await quinn.close();
  });

  test("without the pinned certificate the self-signed server is not trusted at all", async () => {
    await expect(register("rex", base)).rejects.toThrow(/certificate/i);
  });

  test("pinning another certificate refuses the server before anything is sent", async () => {
    const { cert: other } = await generateSelfSigned(["127.0.0.1"]);
    await expect(register("rex", { ...base, certificates: [other] })).rejects.toMatchObject({ code: "certificate_not_pinned" });
  });

  test("the pin check accepts only the pinned fingerprints; a configuration pinning another fingerprint is refused", async () => {
    const { cert: other } = await generateSelfSigned(["127.0.0.1"]);
    const tls = pinnedTls({ ...base, certificates: [cert] })!;
    // The checker itself: the server's fingerprint passes, any other does not.
    expect(tls.checkServerIdentity("127.0.0.1", { fingerprint256: await certificateFingerprint(cert) })).toBeUndefined();
    expect(tls.checkServerIdentity("127.0.0.1", { fingerprint256: await certificateFingerprint(other) })).toMatchObject({ code: "certificate_not_pinned" });
    const onlyOther = pinnedTls({ ...base, pins: [await certificateFingerprint(other)] })!;
    expect(onlyOther.checkServerIdentity("127.0.0.1", { fingerprint256: await certificateFingerprint(cert) })).toMatchObject({ code: "certificate_not_pinned" });
    await expect(register("rex", { ...base, pins: [await certificateFingerprint(other)] })).rejects.toMatchObject({ code: "certificate_not_pinned" });
  });

  test("pins on a plain-http address are a configuration error, not silently ignored", () => {
    expect(() => pinnedTls({ serviceUrl: "http://127.0.0.1:1", pins: ["AA"] })).toThrow(/https/);
  });
});

// Re-checks every pinned vector with the module's own functions: a change to any encoding,
// label or derivation shows up here before it breaks a deployed peer.

import { describe, expect, it } from "vitest";
import vectors from "../../fixtures/crypto/vectors.json";
import { decryptChunk } from "./aead.ts";
import { concatBytes, fromHex, shortBytes, toHex, utf8 } from "./bytes.ts";
import { parsePacketEnvelope } from "./codec.ts";
import { directConversationId } from "./conversation.ts";
import { decodePrekey, rootFingerprint, safetyNumber, verifyDeviceCertificate, verifyPrekey } from "./keys.ts";
import { deriveKek, openPacket } from "./packet.ts";
import { agree, digest, importAgreementKeyPair, importPublicKey, importSigningKeyPair, type SuiteId } from "./suites.ts";
import { generateVectors } from "./test-vectors.ts";

describe.each(vectors.suites)("vectors, suite $suite", (vector) => {
  const suite = vector.suite as SuiteId;

  it("derives each public key from its private key and verifies every certificate and prekey", async () => {
    for (const device of [vector.sender, ...vector.recipients]) {
      expect(toHex((await importSigningKeyPair(suite, fromHex(device.rootPrivate))).publicBytes)).toBe(device.rootPublic);
      expect(toHex((await importSigningKeyPair(suite, fromHex(device.devicePrivate))).publicBytes)).toBe(device.devicePublic);
      const cert = await verifyDeviceCertificate(fromHex(device.certificate), fromHex(device.rootPublic), { userId: device.userId, deviceId: device.deviceId, suite });
      expect(toHex(cert.devicePublicKey)).toBe(device.devicePublic);
      for (const prekey of device.prekeys) {
        expect(toHex((await importAgreementKeyPair(suite, fromHex(prekey.private))).publicBytes)).toBe(prekey.public);
        const signed = await verifyPrekey(fromHex(prekey.signed), cert);
        expect([signed.id, signed.kind, toHex(signed.publicKey)]).toEqual([prekey.id, prekey.kind, prekey.public]);
      }
    }
    expect(toHex(await rootFingerprint(fromHex(vector.sender.rootPublic)))).toBe(vector.rootFingerprint);
  });

  it("decodes the packet to the pinned header, hashes and signature", async () => {
    const envelope = parsePacketEnvelope(fromHex(vector.packet.bytes));
    const { header } = envelope;
    expect({ ...header, ephemeralPublicKey: toHex(header.ephemeralPublicKey), bodyHash: toHex(header.bodyHash) }).toEqual(vector.packet.header);
    expect(toHex(envelope.headerBytes)).toBe(vector.packet.headerBytes);
    expect(toHex(envelope.signature)).toBe(vector.packet.signature);
    expect(toHex(envelope.body)).toBe(vector.packet.body);
    expect(toHex(await digest(suite, envelope.body))).toBe(vector.packet.header.bodyHash);
    expect(envelope.wraps.map((w) => [w.deviceId, w.prekeyId])).toEqual(vector.packet.wraps.map((w) => [w.deviceId, w.prekeyId]));
  });

  it("derives the pinned shared secrets, KEKs and wrap AADs, and opens the packet for each recipient", async () => {
    const packet = fromHex(vector.packet.bytes);
    const { header, headerBytes } = parsePacketEnvelope(packet);
    for (const [i, wrap] of vector.packet.wraps.entries()) {
      const recipient = vector.recipients[i]!;
      const prekey = recipient.prekeys.find((p) => p.id === wrap.prekeyId)!;
      const keyPair = await importAgreementKeyPair(suite, fromHex(prekey.private));
      const shared = await agree(suite, keyPair.privateKey, await importPublicKey(suite, "agreement", header.ephemeralPublicKey));
      expect(toHex(shared)).toBe(wrap.sharedSecret);
      expect(toHex(await deriveKek(suite, shared, fromHex(vector.rootFingerprint), wrap.deviceId, wrap.prekeyId))).toBe(wrap.kek);
      expect(toHex(concatBytes(await digest(suite, headerBytes), shortBytes(utf8(wrap.deviceId))))).toBe(wrap.aad);
      const opened = await openPacket({
        packet,
        deviceId: recipient.deviceId,
        findPrekey: (id) => (id === prekey.id ? keyPair : undefined),
        sender: { rootPublicKey: fromHex(vector.sender.rootPublic), deviceCert: fromHex(vector.sender.certificate), verifiedRootFingerprint: fromHex(vector.rootFingerprint) },
        isReplay: () => false,
      });
      expect(opened.payload).toEqual(vector.packet.payload);
      expect(opened.header.packetId).toBe(vector.packet.packetId);
    }
  });

  it("pins prekey ids as decimal strings of their 64-bit encoding", () => {
    for (const prekey of vector.sender.prekeys) expect(decodePrekey(fromHex(prekey.signed)).id).toBe(prekey.id);
  });
});

describe("other vectors", () => {
  it("reproduces the safety number, direct conversation id and chunk", async () => {
    const { a, b, number } = vectors.safetyNumber;
    expect(await safetyNumber({ userId: a.userId, rootPublicKey: fromHex(a.rootPublicKey) }, { userId: b.userId, rootPublicKey: fromHex(b.rootPublicKey) })).toBe(number);
    expect(await safetyNumber({ userId: b.userId, rootPublicKey: fromHex(b.rootPublicKey) }, { userId: a.userId, rootPublicKey: fromHex(a.rootPublicKey) })).toBe(number);
    expect(await directConversationId(vectors.directConversationId.a, vectors.directConversationId.b)).toBe(vectors.directConversationId.id);
    const { chunk } = vectors;
    const plain = await decryptChunk(fromHex(chunk.key), chunk.index, fromHex(chunk.sealed), { final: chunk.final, context: fromHex(chunk.context) });
    expect(toHex(plain)).toBe(chunk.plaintext);
  });

  it("regenerates the deterministic vectors byte for byte (all but ECDSA P-384 signatures)", async () => {
    const fresh = await generateVectors();
    const fixed = vectors.suites.find((s) => s.suite === "x25519-ed25519-a256gcm-sha256");
    expect(fresh.suites.find((s) => s.suite === "x25519-ed25519-a256gcm-sha256")).toEqual(fixed);
    expect(fresh.safetyNumber).toEqual(vectors.safetyNumber);
    expect(fresh.chunk).toEqual(vectors.chunk);
    const p384 = fresh.suites.find((s) => s.suite === "p384-a256gcm-sha384")!;
    const pinned = vectors.suites.find((s) => s.suite === "p384-a256gcm-sha384")!;
    expect(p384.sender.rootPublic).toBe(pinned.sender.rootPublic);
    expect(p384.packet.wraps.map((w) => w.kek)).toEqual(pinned.packet.wraps.map((w) => w.kek));
  });
});

// Builds packets by hand from README.md's constructions (not through sealPacket), so the
// document and the code are checked against each other, and so a body whose hash matches
// the signed one but whose tag does not can be produced.

import { describe, expect, it } from "vitest";
import { concatBytes, shortBytes, toHex, utf8 } from "./bytes.ts";
import { PROTOCOL_VERSION, encodeHeader, encodeShared, encodeStoredPacket, encodeWrapEntry, type PacketHeader } from "./codec.ts";
import { PacketError } from "./errors.ts";
import { decodePrekey, rootFingerprint } from "./keys.ts";
import { deriveKek } from "./packet.ts";
import { SUITE_IDS, aesGcmEncrypt, agree, digest, generateAgreementKeyPair, getSuite, importPublicKey, sign } from "./suites.ts";
import { makeDevice, openAs } from "./test-world.ts";

describe.each(SUITE_IDS)("hand-built packets, suite %s", (suite) => {
  async function build(
    bodyAadOf: (headerPrefix: Uint8Array, fullHeader: Uint8Array) => Promise<Uint8Array>,
    payloadTtl = 60,
  ) {
    const alice = await makeDevice(suite, "alice@site", "alice-phone");
    const bob = await makeDevice(suite, "bob@site", "bob-laptop");
    const prekey = decodePrekey(bob.prekeys[0]!);
    const key = crypto.getRandomValues(new Uint8Array(32));
    const bodyIv = crypto.getRandomValues(new Uint8Array(12));
    const wrapIv = crypto.getRandomValues(new Uint8Array(12));
    const ephemeral = await generateAgreementKeyPair(suite);
    const conversationId = "G" + "1".repeat(63);
    const header: PacketHeader = {
      version: PROTOCOL_VERSION,
      suite,
      packetId: toHex(crypto.getRandomValues(new Uint8Array(16))),
      conversationId,
      senderUserId: "alice@site",
      senderDeviceId: "alice-phone",
      ephemeralPublicKey: ephemeral.publicBytes,
      ttl: 60,
      bor: 5,
      sentAt: 1_700_000_000_000,
      bodyHash: new Uint8Array(getSuite(suite).hashLength),
    };
    const prefix = encodeHeader(header).subarray(0, -getSuite(suite).hashLength);
    const payload = utf8(JSON.stringify({ type: 1000, content: "by hand", ttl: payloadTtl, bor: 5, sentAt: 1_700_000_000_000, conversationId }));
    const body = concatBytes(bodyIv, await aesGcmEncrypt(key, bodyIv, payload, await bodyAadOf(prefix, encodeHeader(header))));
    header.bodyHash = await digest(suite, body);
    const headerBytes = encodeHeader(header);
    const signature = await sign(suite, alice.deviceKey.privateKey, concatBytes(utf8("outpost/v1/packet\0"), headerBytes));
    const shared = await agree(suite, ephemeral.privateKey, await importPublicKey(suite, "agreement", prekey.publicKey));
    const kek = await deriveKek(suite, shared, await rootFingerprint(alice.root.publicBytes), "bob-laptop", prekey.id);
    const wrapped = await aesGcmEncrypt(kek, wrapIv, key, concatBytes(await digest(suite, headerBytes), shortBytes(utf8("bob-laptop"))));
    const packet = encodeStoredPacket(encodeShared(headerBytes, signature, body), [encodeWrapEntry({ deviceId: "bob-laptop", prekeyId: prekey.id, iv: wrapIv, wrappedKey: wrapped })]);
    return { packet, alice, bob };
  }

  it("opens a packet built from the documented constructions", async () => {
    const { packet, alice, bob } = await build((prefix) => digest(suite, prefix));
    expect((await openAs(bob, packet, alice)).payload.content).toBe("by hand");
  });

  it("refuses a body whose hash is signed but whose tag does not verify", async () => {
    const { packet, alice, bob } = await build((_prefix, full) => digest(suite, full));
    const error = await openAs(bob, packet, alice).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PacketError);
    expect((error as PacketError).code).toBe("bad_body");
  });

  it("refuses a payload that disagrees with the signed header", async () => {
    const { packet, alice, bob } = await build((prefix) => digest(suite, prefix), 3600);
    const error = await openAs(bob, packet, alice).catch((caught: unknown) => caught);
    expect((error as PacketError).code).toBe("bad_body");
  });
});

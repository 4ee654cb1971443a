// Builds the test vectors of fixtures/crypto/vectors.json from fixed seeds (see
// vectors.gen.ts). Everything but ECDSA P-384 signatures is deterministic given the seed:
// WebCrypto draws ECDSA nonces itself, so the P-384 vectors pin verification, not bytes.

import { aesGcmDecrypt, agree, digest, importAgreementKeyPair, importPublicKey, SUITE_IDS, type SuiteId } from "./suites.ts";
import { concatBytes, fromHex, seededRandom, shortBytes, toHex, utf8 } from "./bytes.ts";
import { parsePacketEnvelope } from "./codec.ts";
import { directConversationId } from "./conversation.ts";
import { encryptChunk } from "./aead.ts";
import { rootFingerprint, safetyNumber } from "./keys.ts";
import { deriveKek } from "./packet.ts";
import { makeDevice, sealText, type TestDevice } from "./test-world.ts";

const SENT_TEXT = "vector message";

function deviceVector(device: TestDevice) {
  return {
    userId: device.userId,
    deviceId: device.deviceId,
    rootPrivate: toHex(device.root.privateBytes),
    rootPublic: toHex(device.root.publicBytes),
    devicePrivate: toHex(device.deviceKey.privateBytes),
    devicePublic: toHex(device.deviceKey.publicBytes),
    certificate: toHex(device.certificate),
    prekeys: device.secrets.map((secret, i) => ({
      id: secret.id,
      kind: secret.kind,
      private: toHex(secret.keyPair.privateBytes),
      public: toHex(secret.keyPair.publicBytes),
      signed: toHex(device.prekeys[i]!),
    })),
  };
}

async function suiteVector(suite: SuiteId) {
  const random = seededRandom(utf8(`outpost/v1 test vectors ${suite}`));
  const alicePhone = await makeDevice(suite, "alice@site", "alice-phone", undefined, random);
  const aliceTablet = await makeDevice(suite, "alice@site", "alice-tablet", alicePhone.root, random);
  const bob = await makeDevice(suite, "bob@site", "bob-laptop", undefined, random);
  const conversationId = await directConversationId("alice@site", "bob@site");
  const { packet, packetId } = await sealText(alicePhone, [bob, aliceTablet], conversationId, SENT_TEXT, random);
  const envelope = parsePacketEnvelope(packet);
  const fingerprint = await rootFingerprint(alicePhone.root.publicBytes);

  const wraps = [];
  let payloadKey = "";
  for (const recipient of [bob, aliceTablet]) {
    const wrap = envelope.wraps.find((entry) => entry.deviceId === recipient.deviceId)!;
    const prekey = await importAgreementKeyPair(suite, recipient.secrets.find((s) => s.id === wrap.prekeyId)!.keyPair.privateBytes);
    const shared = await agree(suite, prekey.privateKey, await importPublicKey(suite, "agreement", envelope.header.ephemeralPublicKey));
    const kek = await deriveKek(suite, shared, fingerprint, recipient.deviceId, wrap.prekeyId);
    const aad = concatBytes(await digest(suite, envelope.headerBytes), shortBytes(utf8(recipient.deviceId)));
    payloadKey = toHex(await aesGcmDecrypt(kek, wrap.iv, wrap.wrappedKey, aad));
    wraps.push({ deviceId: recipient.deviceId, prekeyId: wrap.prekeyId, sharedSecret: toHex(shared), kek: toHex(kek), aad: toHex(aad) });
  }
  const { header } = envelope;
  return {
    suite,
    sender: deviceVector(alicePhone),
    recipients: [deviceVector(bob), deviceVector(aliceTablet)],
    rootFingerprint: toHex(fingerprint),
    packet: {
      bytes: toHex(packet),
      packetId,
      header: { ...header, ephemeralPublicKey: toHex(header.ephemeralPublicKey), bodyHash: toHex(header.bodyHash) },
      headerBytes: toHex(envelope.headerBytes),
      signature: toHex(envelope.signature),
      body: toHex(envelope.body),
      payloadKey,
      payload: { type: 1000, content: { text: SENT_TEXT }, ttl: header.ttl, bor: header.bor, sentAt: header.sentAt, conversationId },
      wraps,
    },
  };
}

export async function generateVectors() {
  const suites = [];
  for (const suite of SUITE_IDS) suites.push(await suiteVector(suite));
  const a = { userId: "alice@site", rootPublicKey: suites[0]!.sender.rootPublic };
  const b = { userId: "bob@site", rootPublicKey: suites[0]!.recipients[0]!.rootPublic };
  const chunkKey = fromHex("42".repeat(32));
  const context = utf8("file-1");
  const chunkRandom = seededRandom(utf8("outpost/v1 test vectors chunk"));
  return {
    generatedBy: "src/crypto/vectors.gen.ts (do not edit by hand)",
    suites,
    safetyNumber: {
      a,
      b,
      number: await safetyNumber({ userId: a.userId, rootPublicKey: fromHex(a.rootPublicKey) }, { userId: b.userId, rootPublicKey: fromHex(b.rootPublicKey) }),
    },
    directConversationId: { a: "alice@site", b: "bob@site", id: await directConversationId("alice@site", "bob@site") },
    chunk: {
      key: toHex(chunkKey),
      index: 7,
      final: true,
      context: toHex(context),
      plaintext: toHex(utf8("chunk seven")),
      sealed: toHex(await encryptChunk(chunkKey, 7, utf8("chunk seven"), { final: true, context, random: chunkRandom })),
    },
  };
}

export type Vectors = Awaited<ReturnType<typeof generateVectors>>;

import { beforeAll, describe, expect, it } from "vitest";
import { concatBytes, shortBytes, utf8 } from "./bytes.ts";
import { encodeHeader, encodeShared, encodeStoredPacket, headerWithoutBodyHash, packetForDevice, parsePacketEnvelope, type PacketHeader } from "./codec.ts";
import { directConversationId, newGroupId } from "./conversation.ts";
import { PacketError, type PacketErrorCode } from "./errors.ts";
import { createDevice, generateRootKey, rootFingerprint } from "./keys.ts";
import { MessageType } from "./payload.ts";
import { deriveKek, sealPacket } from "./packet.ts";
import { SUITE_IDS, aesGcmDecrypt, aesGcmEncrypt, agree, digest, importPublicKey, sign } from "./suites.ts";
import { makeDevice, openAs, recipientOf, sealText, senderOf, type TestDevice } from "./test-world.ts";

async function expectCode(promise: Promise<unknown>, code: PacketErrorCode) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PacketError);
  expect((error as PacketError).code).toBe(code);
}

/** Rebuilds a packet after changing its header, keeping the original signature. */
function withHeader(packet: Uint8Array, change: (header: PacketHeader) => PacketHeader, patchBytes?: (bytes: Uint8Array) => void) {
  const envelope = parsePacketEnvelope(packet);
  const headerBytes = encodeHeader(change({ ...envelope.header }));
  patchBytes?.(headerBytes);
  return encodeStoredPacket(encodeShared(headerBytes, envelope.signature, envelope.body), envelope.wraps.map((w) => w.bytes));
}

describe.each(SUITE_IDS)("packets, suite %s", (suite) => {
  let alicePhone: TestDevice, aliceTablet: TestDevice, bob: TestDevice, carol: TestDevice;
  let conversationId: string;
  let packet: Uint8Array;

  beforeAll(async () => {
    alicePhone = await makeDevice(suite, "alice@site", "alice-phone");
    aliceTablet = await makeDevice(suite, "alice@site", "alice-tablet", alicePhone.root);
    bob = await makeDevice(suite, "bob@site", "bob-laptop");
    carol = await makeDevice(suite, "carol@site", "carol-phone");
    conversationId = await directConversationId("alice@site", "bob@site");
    ({ packet } = await sealText(alicePhone, [bob, aliceTablet], conversationId, "hi bob"));
  });

  it("opens for every recipient device, including the sender's own other device", async () => {
    for (const device of [bob, aliceTablet]) {
      const opened = await openAs(device, packet, alicePhone);
      expect(opened.payload).toEqual({ type: 1000, content: { text: "hi bob" }, ttl: 3600, bor: 0, sentAt: 1_700_000_123_456, conversationId });
      expect(opened.header.senderDeviceId).toBe("alice-phone");
      expect(opened.prekeyId).toBe(device.secrets[0]!.id);
    }
  });

  it("opens the per-device packet the relay delivers, and only for that device", async () => {
    const forBob = packetForDevice(parsePacketEnvelope(packet), "bob-laptop")!;
    expect(parsePacketEnvelope(forBob).wraps.map((w) => w.deviceId)).toEqual(["bob-laptop"]);
    expect((await openAs(bob, forBob, alicePhone)).payload.content).toEqual({ text: "hi bob" });
    await expectCode(openAs(aliceTablet, forBob, alicePhone), "no_wrap");
  });

  it("seals a group message to many devices with fresh keys each time", async () => {
    const group = await newGroupId();
    const first = await sealText(alicePhone, [bob, carol, aliceTablet], group, "to all");
    const second = await sealText(alicePhone, [bob, carol, aliceTablet], group, "to all");
    expect(first.packetId).not.toBe(second.packetId);
    const a = parsePacketEnvelope(first.packet), b = parsePacketEnvelope(second.packet);
    expect(a.header.ephemeralPublicKey).not.toEqual(b.header.ephemeralPublicKey);
    expect(a.body).not.toEqual(b.body);
    for (const device of [bob, carol, aliceTablet]) expect((await openAs(device, first.packet, alicePhone)).payload.content).toEqual({ text: "to all" });
  });

  it("refuses a tampered body", async () => {
    const tampered = packet.slice();
    const envelope = parsePacketEnvelope(packet);
    const bodyAt = envelope.body.byteOffset - packet.byteOffset;
    tampered[bodyAt + 20]! ^= 1;
    await expectCode(openAs(bob, tampered, alicePhone), "bad_body");
  });

  it("refuses a re-hashed, re-signed body: the wraps are bound to the original header", async () => {
    // Even with the sender's device key (simulated by re-signing), a new header orphans
    // every wrap, because each wrap's AAD holds the hash of the header it was made for.
    const envelope = parsePacketEnvelope(packet);
    const body = envelope.body.slice();
    body[30]! ^= 1;
    const header = { ...envelope.header, bodyHash: new Uint8Array(await crypto.subtle.digest(suite.endsWith("384") ? "SHA-384" : "SHA-256", body)) };
    const headerBytes = encodeHeader(header);
    const signature = await sign(suite, alicePhone.deviceKey.privateKey, concatBytes(new TextEncoder().encode("outpost/v1/packet\0"), headerBytes));
    const forged = encodeStoredPacket(encodeShared(headerBytes, signature, body), envelope.wraps.map((w) => w.bytes));
    await expectCode(openAs(bob, forged, alicePhone), "bad_wrap");
  });

  it("stops one recipient, who knows the payload key, from forging a body for the others", async () => {
    // Bob unwraps K like any recipient, then encrypts his own payload under it with the
    // same AAD and swaps the body in; the signed body hash is what gives him away.
    const envelope = parsePacketEnvelope(packet);
    const wrap = envelope.wraps.find((w) => w.deviceId === "bob-laptop")!;
    const prekey = bob.secrets.find((s) => s.id === wrap.prekeyId)!.keyPair;
    const shared = await agree(suite, prekey.privateKey, await importPublicKey(suite, "agreement", envelope.header.ephemeralPublicKey));
    const kek = await deriveKek(suite, shared, await rootFingerprint(alicePhone.root.publicBytes), "bob-laptop", wrap.prekeyId);
    const key = await aesGcmDecrypt(kek, wrap.iv, wrap.wrappedKey, concatBytes(await digest(suite, envelope.headerBytes), shortBytes(utf8("bob-laptop"))));
    const forgedPayload = utf8(JSON.stringify({ type: 1000, content: { text: "forged" }, ttl: 3600, bor: 0, sentAt: 1_700_000_123_456, conversationId }));
    const iv = new Uint8Array(12);
    const bodyAad = await digest(suite, headerWithoutBodyHash(envelope.headerBytes, suite));
    const forgedBody = concatBytes(iv, await aesGcmEncrypt(key, iv, forgedPayload, bodyAad));
    const forged = encodeStoredPacket(encodeShared(envelope.headerBytes, envelope.signature, forgedBody), envelope.wraps.map((w) => w.bytes));
    await expectCode(openAs(aliceTablet, forged, alicePhone), "bad_body");
  });

  it.each([
    ["ttl", (h: PacketHeader) => ({ ...h, ttl: h.ttl + 1 })],
    ["bor", (h: PacketHeader) => ({ ...h, bor: 60 })],
    ["sent time", (h: PacketHeader) => ({ ...h, sentAt: h.sentAt - 1 })],
    ["conversation", (h: PacketHeader) => ({ ...h, conversationId: "G" + "0".repeat(63) })],
    ["packet id", (h: PacketHeader) => ({ ...h, packetId: "0".repeat(32) })],
  ])("refuses a tampered header field (%s)", async (_name, change) => {
    await expectCode(openAs(bob, withHeader(packet, change), alicePhone), "bad_signature");
  });

  it("refuses a signature made by another device key", async () => {
    const envelope = parsePacketEnvelope(packet);
    const signature = await sign(suite, carol.deviceKey.privateKey, concatBytes(new TextEncoder().encode("outpost/v1/packet\0"), envelope.headerBytes));
    const forged = encodeStoredPacket(encodeShared(envelope.headerBytes, signature, envelope.body), envelope.wraps.map((w) => w.bytes));
    await expectCode(openAs(bob, forged, alicePhone), "bad_signature");
  });

  it("refuses a sender device the root key never certified", async () => {
    // The server hands out a device cert for "alice-phone" signed by a root it controls.
    const rogueRoot = await generateRootKey(suite);
    const rogue = await createDevice({ root: rogueRoot, userId: "alice@site", deviceId: "alice-phone" });
    await expectCode(openAs(bob, packet, alicePhone, { sender: { rootPublicKey: alicePhone.root.publicBytes, deviceCert: rogue.certificate } }), "device_not_signed");
    // ...and a genuine cert of another of alice's devices does not vouch for this one.
    await expectCode(openAs(bob, packet, alicePhone, { sender: { rootPublicKey: alicePhone.root.publicBytes, deviceCert: aliceTablet.certificate } }), "device_not_signed");
  });

  it("refuses a root key that differs from the verified one", async () => {
    const verified = await rootFingerprint(carol.root.publicBytes);
    await expectCode(
      openAs(bob, packet, alicePhone, { sender: { rootPublicKey: alicePhone.root.publicBytes, deviceCert: alicePhone.certificate, verifiedRootFingerprint: verified } }),
      "root_mismatch",
    );
    const good = await rootFingerprint(alicePhone.root.publicBytes);
    await openAs(bob, packet, alicePhone, { sender: { rootPublicKey: alicePhone.root.publicBytes, deviceCert: alicePhone.certificate, verifiedRootFingerprint: good } });
  });

  it("refuses a replayed packet id", async () => {
    const seen = new Set<string>();
    const opened = await openAs(bob, packet, alicePhone, { isReplay: (id) => seen.has(id) });
    seen.add(opened.header.packetId);
    await expectCode(openAs(bob, packet, alicePhone, { isReplay: (id) => seen.has(id) }), "replay");
  });

  it("refuses when there is no wrap for this device, or its prekey is gone", async () => {
    await expectCode(openAs(carol, packet, alicePhone), "no_wrap");
    await expectCode(openAs(bob, packet, alicePhone, { findPrekey: () => undefined }), "no_wrap");
  });

  it("refuses another device's wrap relabelled as ours", async () => {
    const envelope = parsePacketEnvelope(packet);
    const bobWrap = envelope.wraps.find((w) => w.deviceId === "bob-laptop")!;
    const label = new TextEncoder().encode("carol-phone");
    const relabelled = concatBytes(Uint8Array.of(label.length), label, bobWrap.bytes.subarray(1 + "bob-laptop".length));
    const forged = encodeStoredPacket(envelope.shared, [relabelled]);
    await expectCode(openAs(carol, forged, alicePhone, { findPrekey: () => bob.secrets[0]!.keyPair }), "bad_wrap");
    await expectCode(openAs(carol, forged, alicePhone, { findPrekey: () => carol.secrets[0]!.keyPair }), "bad_wrap");
  });

  it("refuses a wrap moved onto another packet's header", async () => {
    const other = await sealText(alicePhone, [carol], conversationId, "other");
    const envelope = parsePacketEnvelope(other.packet);
    const bobWrap = parsePacketEnvelope(packet).wraps.find((w) => w.deviceId === "bob-laptop")!;
    await expectCode(openAs(bob, encodeStoredPacket(envelope.shared, [bobWrap.bytes]), alicePhone), "bad_wrap");
  });

  it("refuses an unknown version and an unknown suite", async () => {
    await expectCode(openAs(bob, withHeader(packet, (h) => h, (b) => (b[0] = 2)), alicePhone), "unknown_version");
    await expectCode(openAs(bob, withHeader(packet, (h) => h, (b) => (b[1] = 9)), alicePhone), "unknown_suite");
  });

  it("refuses recipients whose certificate or prekey does not check out", async () => {
    const base = { sender: senderOf(alicePhone), conversationId, payload: { type: MessageType.text, content: "x" }, ttl: 0, bor: 0 };
    await expectCode(sealPacket({ ...base, recipients: [{ ...recipientOf(bob), rootPublicKey: carol.root.publicBytes }] }), "device_not_signed");
    await expectCode(sealPacket({ ...base, recipients: [{ ...recipientOf(bob), prekey: carol.prekeys[0]! }] }), "bad_signature");
    const badPrekey = bob.prekeys[0]!.slice();
    badPrekey[badPrekey.length - 1]! ^= 1;
    await expectCode(sealPacket({ ...base, recipients: [{ ...recipientOf(bob), prekey: badPrekey }] }), "bad_signature");
    await expect(sealPacket({ ...base, recipients: [recipientOf(bob), recipientOf(bob, 1)] })).rejects.toThrow(RangeError);
    await expect(sealPacket({ ...base, recipients: [] })).rejects.toThrow(RangeError);
  });
});

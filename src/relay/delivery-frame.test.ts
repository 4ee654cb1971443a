// The relay re-assembles each device's packet without the codec's help on the hot path:
// its frame must be exactly u64 seq ‖ the codec's per-device packet, and still open.
import { expect, test } from "vitest";
import { makeDevice, recipientOf, senderOf } from "../crypto/test-world.ts";
import { newGroupId, openPacket, packetForDevice, parsePacketEnvelope, sealPacket } from "../crypto/index.ts";
import { deliveryFrame } from "./session.ts";

test("a delivery frame is the sequence number followed by the packet with only that device's wrap", async () => {
  const suite = "x25519-ed25519-a256gcm-sha256";
  const alice = await makeDevice(suite, "alice", "a1");
  const bob = await makeDevice(suite, "bob", "b1");
  const carol = await makeDevice(suite, "carol", "c1");
  const { packet } = await sealPacket({ sender: senderOf(alice), conversationId: await newGroupId(), payload: { type: 1000, content: { text: "hi" } }, ttl: 0, bor: 0, recipients: [recipientOf(bob), recipientOf(carol)] });
  const env = parsePacketEnvelope(packet);
  const wrap = env.wraps.find((w) => w.deviceId === "c1")!;
  const seq = 2 ** 40 + 7;
  const frame = deliveryFrame(seq, env.shared, wrap.bytes);
  expect(Number(new DataView(frame.buffer).getBigUint64(0))).toBe(seq);
  expect(frame.subarray(8)).toEqual(packetForDevice(env, "c1"));
  const opened = await openPacket({
    packet: frame.subarray(8),
    deviceId: "c1",
    findPrekey: (id) => carol.secrets.find((s) => s.id === id)?.keyPair,
    sender: { rootPublicKey: alice.root.publicBytes, deviceCert: alice.certificate },
    isReplay: () => false,
  });
  expect(opened.payload.content).toEqual({ text: "hi" });
});

test("a directed delivery sets the top bit of the sequence word, and only that bit", async () => {
  const shared = new Uint8Array([1, 2, 3]);
  const wrap = new Uint8Array([9]);
  const seq = 2 ** 40 + 7;
  const plain = new DataView(deliveryFrame(seq, shared, wrap).buffer);
  const marked = new DataView(deliveryFrame(seq, shared, wrap, true).buffer);
  expect(plain.getUint32(0) & 0x80000000).toBe(0);
  expect(marked.getUint32(0) >>> 31).toBe(1);
  expect((marked.getUint32(0) & 0x7fffffff) * 2 ** 32 + marked.getUint32(4)).toBe(seq);
  expect(new Uint8Array(marked.buffer).subarray(8)).toEqual(new Uint8Array(plain.buffer).subarray(8));
});

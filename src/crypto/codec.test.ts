import { beforeAll, describe, expect, it } from "vitest";
import { concatBytes, seededRandom, u16be, u32be } from "./bytes.ts";
import { encodeStoredPacket, packetForDevice, parsePacketEnvelope } from "./codec.ts";
import { PacketError } from "./errors.ts";
import { SUITE_IDS } from "./suites.ts";
import { makeDevice, sealText } from "./test-world.ts";

function parseError(bytes: Uint8Array): unknown {
  try {
    parsePacketEnvelope(bytes);
    return undefined;
  } catch (error) {
    return error;
  }
}

function expectMalformed(bytes: Uint8Array) {
  const error = parseError(bytes);
  expect(error).toBeInstanceOf(PacketError);
  expect((error as PacketError).code).toBe("malformed");
}

describe.each(SUITE_IDS)("wire codec, suite %s", (suite) => {
  let packet: Uint8Array;

  beforeAll(async () => {
    const alice = await makeDevice(suite, "alice@site", "alice-phone");
    const others = [await makeDevice(suite, "bob@site", "bob-laptop"), await makeDevice(suite, "carol@site", "carol-phone")];
    ({ packet } = await sealText(alice, others, "S" + "a".repeat(63), "codec"));
  });

  it("parses a packet into views of its bytes", () => {
    const envelope = parsePacketEnvelope(packet);
    expect(envelope.header.suite).toBe(suite);
    expect(envelope.header.packetId).toMatch(/^[0-9a-f]{32}$/);
    expect(envelope.header.conversationId).toBe("S" + "a".repeat(63));
    expect(envelope.wraps.map((w) => [w.deviceId, w.prekeyId.length > 0])).toEqual([["bob-laptop", true], ["carol-phone", true]]);
    expect(envelope.shared.buffer).toBe(packet.buffer);
    expect(encodeStoredPacket(envelope.shared, envelope.wraps.map((w) => w.bytes))).toEqual(packet);
  });

  it("re-assembles a per-device packet from the shared part and one stored wrap", () => {
    const envelope = parsePacketEnvelope(packet);
    const forCarol = packetForDevice(envelope, "carol-phone")!;
    const parsed = parsePacketEnvelope(forCarol);
    expect(parsed.shared).toEqual(envelope.shared);
    expect(parsed.wraps).toHaveLength(1);
    expect(parsed.wraps[0]!.bytes).toEqual(envelope.wraps[1]!.bytes);
    expect(packetForDevice(envelope, "dave-phone")).toBeUndefined();
  });

  it("refuses every truncation of a real packet as malformed", () => {
    for (let cut = 0; cut < packet.length; cut++) expectMalformed(packet.subarray(0, cut));
  });

  it("refuses trailing bytes", () => {
    expectMalformed(concatBytes(packet, Uint8Array.of(0)));
  });

  it("refuses oversized and inconsistent length prefixes", () => {
    const envelope = parsePacketEnvelope(packet);
    const h = envelope.headerBytes.length, s = envelope.signature.length;
    const patch = (at: number, bytes: Uint8Array) => {
      const copy = packet.slice();
      copy.set(bytes, at);
      return copy;
    };
    expectMalformed(patch(0, u32be(0xffffffff)));
    expectMalformed(patch(0, u32be(h + 1)));
    expectMalformed(patch(4 + h, u16be(0xffff)));
    expectMalformed(patch(4 + h + 2 + s, u32be(0xffffffff)));
    expectMalformed(patch(4 + h + 2 + s, u32be(0)));
    expectMalformed(patch(envelope.shared.length, u16be(0xffff)));
    expectMalformed(patch(envelope.shared.length, u16be(0)));
    expectMalformed(patch(envelope.shared.length + 2, u16be(0xffff)));
    // A signature of the wrong length for the suite, framed consistently.
    expectMalformed(concatBytes(u32be(h), envelope.headerBytes, u16be(s - 1), envelope.signature.subarray(1), packet.subarray(4 + h + 2 + s)));
  });

  it("refuses two wraps for one device", () => {
    const envelope = parsePacketEnvelope(packet);
    expectMalformed(encodeStoredPacket(envelope.shared, [envelope.wraps[0]!.bytes, envelope.wraps[0]!.bytes]));
  });

  it("throws only PacketError for any single corrupted byte", () => {
    for (let at = 0; at < packet.length; at++) {
      for (const value of [0x00, 0xff, packet[at]! ^ 0x80]) {
        const copy = packet.slice();
        copy[at] = value;
        const error = parseError(copy);
        if (error !== undefined) expect(error).toBeInstanceOf(PacketError);
      }
    }
  });
});

describe("wire codec on garbage", () => {
  it("throws only PacketError on random bytes of every small length", async () => {
    const random = seededRandom(new TextEncoder().encode("garbage"));
    for (let length = 0; length < 600; length++) {
      const error = parseError(await random(length));
      expect(error).toBeInstanceOf(PacketError);
    }
  });
});

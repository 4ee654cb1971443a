// The browser's call frame format (web/client/calls/frames.ts): audio frames are exactly the
// SDK participant's (src/calling/frame-crypto.ts), video frames keep the VP8 payload header in
// clear (10 bytes of a keyframe, 3 of a delta frame) and authenticated, nothing else readable.
import { describe, expect, test } from "vitest";
import { CallKeyring, FRAME_HEADER_BYTES, newCallKey } from "../../src/calling/frame-crypto.ts";
import { clearBytes, newFrameStats, openFrame, sealFrame, statsSink, mergeStats } from "../../web/client/calls/frames.ts";

async function keyring() {
  const k = new CallKeyring();
  await k.install(newCallKey());
  return k;
}
/** A VP8 frame: bit 0 of the first byte clear for a keyframe, set for a delta frame. */
function vp8(key: boolean, length: number) {
  const f = crypto.getRandomValues(new Uint8Array(length));
  f[0] = key ? f[0]! & 0xfe : f[0]! | 1;
  return f;
}

describe("call frames in the browser", () => {
  test("an audio frame is sealed whole, in the SDK's format: the SDK's keyring opens it and the browser opens the SDK's", async () => {
    const k = await keyring();
    const opus = crypto.getRandomValues(new Uint8Array(80));
    const wire = await sealFrame(k, "audio", opus);
    expect(wire.length).toBe(FRAME_HEADER_BYTES + 80 + 16);
    expect(await k.decrypt(wire)).toEqual(opus);
    expect(await openFrame(k, "audio", await k.encrypt(opus))).toEqual(opus);
  });

  test("a video keyframe keeps 10 clear bytes, a delta frame 3; the rest is encrypted and both open again", async () => {
    const k = await keyring();
    for (const [key, clear] of [
      [true, 10],
      [false, 3],
    ] as const) {
      const frame = vp8(key, 500);
      expect(clearBytes("video", frame)).toBe(clear);
      const wire = await sealFrame(k, "video", frame);
      expect(wire.length).toBe(clear + FRAME_HEADER_BYTES + 500 - clear + 16);
      expect(wire.subarray(0, clear)).toEqual(frame.subarray(0, clear));
      expect(Buffer.from(wire).includes(Buffer.from(frame.subarray(clear, clear + 16)))).toBe(false);
      expect(await openFrame(k, "screen", wire)).toEqual(frame);
    }
    // A frame shorter than its header (not VP8) is refused, never sent half in clear.
    await expect(sealFrame(k, "video", vp8(true, 9))).rejects.toThrow(/shorter than its header/);
    expect(await openFrame(k, "video", await sealFrame(k, "video", vp8(true, 10)))).toHaveLength(10);
  });

  test("the clear bytes are authenticated: changing one, or the keyframe bit, makes the frame fail", async () => {
    const k = await keyring();
    const wire = await sealFrame(k, "video", vp8(true, 300));
    const size = wire.slice();
    size[7] = size[7]! ^ 0x01; // the picture width
    await expect(openFrame(k, "video", size)).rejects.toThrow(/authentication/);
    const flag = wire.slice();
    flag[0] = flag[0]! | 1; // now reads as a delta frame: a different split
    await expect(openFrame(k, "video", flag)).rejects.toThrow();
    const body = wire.slice();
    body[body.length - 1] = body[body.length - 1]! ^ 0xff;
    await expect(openFrame(k, "video", body)).rejects.toThrow(/authentication/);
    // A key this browser was never given.
    await expect(openFrame(await keyring(), "video", wire)).rejects.toThrow();
  });

  test("counters: audio samples only, per-kind totals, a worker's batch adds up in the page", () => {
    const page = newFrameStats();
    const batch = newFrameStats();
    const sink = statsSink(batch, () => 1234);
    sink.sent("audio", new Uint8Array([1, 2]));
    sink.sent("video", new Uint8Array([3]));
    sink.received("video", "video-0", new Uint8Array([4]));
    sink.failed(true);
    sink.failed(false);
    mergeStats(page, batch);
    mergeStats(page, batch);
    expect(page).toMatchObject({ encrypted: 4, decrypted: 2, waiting: 2, failed: 2, sentPlain: ["0102", "0102"], receivedPlain: [], lastFrame: { "video-0": 1234 } });
    expect(page.kinds.video).toEqual({ encrypted: 2, decrypted: 2 });
    expect(page.kinds.audio).toEqual({ encrypted: 2, decrypted: 0 });
  });
});

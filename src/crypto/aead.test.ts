import { describe, expect, it } from "vitest";
import { decryptChunk, encryptChunk, generateKey } from "./aead.ts";
import { PacketError } from "./errors.ts";

async function codeOf(promise: Promise<unknown>) {
  return promise.then(() => "ok", (error: unknown) => (error instanceof PacketError ? error.code : String(error)));
}

describe("chunk encryption", () => {
  const data = (n: number) => new TextEncoder().encode(`chunk number ${n}`);

  it("round-trips chunks at their positions", async () => {
    const key = await generateKey();
    expect(key).toHaveLength(32);
    const sealed = await Promise.all([0, 1, 2].map((i) => encryptChunk(key, i, data(i), { final: i === 2 })));
    for (const [i, chunk] of sealed.entries()) expect(await decryptChunk(key, i, chunk, { final: i === 2 })).toEqual(data(i));
  });

  it("detects reordered, truncated, moved and foreign chunks", async () => {
    const key = await generateKey();
    const first = await encryptChunk(key, 0, data(0));
    const last = await encryptChunk(key, 1, data(1), { final: true, context: new TextEncoder().encode("file-1") });
    expect(await codeOf(decryptChunk(key, 1, first))).toBe("bad_body");
    expect(await codeOf(decryptChunk(key, 0, last, { final: true, context: new TextEncoder().encode("file-1") }))).toBe("bad_body");
    expect(await codeOf(decryptChunk(key, 0, first, { final: true }))).toBe("bad_body");
    expect(await codeOf(decryptChunk(key, 1, last, { context: new TextEncoder().encode("file-1") }))).toBe("bad_body");
    expect(await codeOf(decryptChunk(key, 1, last, { final: true, context: new TextEncoder().encode("file-2") }))).toBe("bad_body");
    expect(await codeOf(decryptChunk(await generateKey(), 0, first))).toBe("bad_body");
    expect(await codeOf(decryptChunk(key, 0, first.subarray(0, 20)))).toBe("malformed");
  });
});

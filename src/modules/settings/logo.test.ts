// The sign-in logo validator: well-formed PNG and JPEG only.
import { describe, expect, test } from "vitest";
import { LOGO_MAX_BYTES, crc32, validateLogo } from "./logo.ts";

const png1x1 = () => new Uint8Array(Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64"));
// A structurally complete baseline JPEG: SOI, SOF0 (1×1, one component), SOS, scan data, EOI.
const jpeg1x1 = () =>
  new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, 0x12, 0x34, 0xff, 0xd9]);
const msg = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return "accepted";
};

describe("validateLogo", () => {
  test("accepts PNG and JPEG, naming the type", () => {
    expect(validateLogo(png1x1())).toBe("image/png");
    expect(validateLogo(jpeg1x1(), "image/jpeg")).toBe("image/jpeg");
    expect(validateLogo(jpeg1x1(), "image/jpg")).toBe("image/jpeg");
  });

  test("refuses other formats, however they are labelled", () => {
    expect(msg(() => validateLogo(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>"), "image/png"))).toContain("only PNG and JPEG");
    expect(msg(() => validateLogo(new TextEncoder().encode("<!doctype html><script>x</script>")))).toContain("only PNG and JPEG");
    expect(msg(() => validateLogo(new TextEncoder().encode("GIF89a...")))).toContain("only PNG and JPEG");
    expect(msg(() => validateLogo(new Uint8Array()))).toContain("empty");
    expect(msg(() => validateLogo(png1x1(), "image/jpeg"))).toContain("not image/jpeg");
  });

  test("refuses damaged or padded PNGs", () => {
    const crc = png1x1();
    crc[29] = crc[29]! ^ 1; // inside IHDR's checksum
    expect(msg(() => validateLogo(crc))).toContain("checksum");
    expect(msg(() => validateLogo(png1x1().subarray(0, 40)))).toContain("truncated");
    const trailing = new Uint8Array([...png1x1(), ...new TextEncoder().encode("<html>")]);
    expect(msg(() => validateLogo(trailing))).toContain("after its end");
    const huge = png1x1();
    const view = new DataView(huge.buffer);
    view.setUint32(16, 100_000); // IHDR width, with a correct checksum so only the size rule can refuse it
    view.setUint32(29, crc32(huge, 12, 29));
    expect(msg(() => validateLogo(huge))).toContain("pixels");
  });

  test("refuses damaged JPEGs", () => {
    const noEnd = jpeg1x1().subarray(0, 27);
    expect(msg(() => validateLogo(noEnd))).toContain("does not end");
    const noFrame = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xd9]);
    expect(msg(() => validateLogo(noFrame))).toContain("no image frame");
    const badSegment = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0x7f, 0xff, 0x08]);
    expect(msg(() => validateLogo(badSegment))).toContain("truncated");
    const zeroSize = jpeg1x1();
    zeroSize[8] = 0; // height 0
    expect(msg(() => validateLogo(zeroSize))).toContain("pixels");
  });

  test("refuses files over the size limit", () => {
    const big = new Uint8Array(LOGO_MAX_BYTES + 1);
    big.set(png1x1());
    expect(msg(() => validateLogo(big))).toContain("at most");
  });
});

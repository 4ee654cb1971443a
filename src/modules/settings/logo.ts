// Strict validation of the sign-in logo: only well-formed PNG (every chunk's
// CRC checked) or baseline JPEG structure, size-limited. Anything else — SVG,
// HTML, polyglots with trailing data — is refused, so the served bytes can
// only ever be an image.
import { AppError } from "../../http/errors.ts";

export const LOGO_MAX_BYTES = 256 * 1024;
const MAX_DIMENSION = 4096;

const fail = (message: string): never => {
  throw new AppError("validation_failed", `logo: ${message}`, [{ path: "logo", rule: "image", message }]);
};

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function checkPng(b: Uint8Array): void {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 8;
  let first = true;
  for (;;) {
    if (off + 12 > b.length) fail("the PNG file is truncated");
    const len = view.getUint32(off);
    const type = String.fromCharCode(...b.subarray(off + 4, off + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) fail("the PNG file has a malformed chunk");
    const end = off + 8 + len;
    if (end + 4 > b.length) fail("the PNG file is truncated");
    if (crc32(b, off + 4, end) !== view.getUint32(end)) fail("the PNG file is corrupt (checksum mismatch)");
    if (first) {
      if (type !== "IHDR" || len !== 13) fail("the PNG file does not start with a header chunk");
      const w = view.getUint32(off + 8);
      const h = view.getUint32(off + 12);
      if (w === 0 || h === 0 || w > MAX_DIMENSION || h > MAX_DIMENSION) fail(`the image must be 1 to ${MAX_DIMENSION} pixels wide and high`);
      first = false;
    }
    off = end + 4;
    if (type === "IEND") break;
  }
  if (off !== b.length) fail("the PNG file has data after its end");
}

function checkJpeg(b: Uint8Array): void {
  let off = 2;
  let sawFrame = false;
  while (off + 4 <= b.length) {
    if (b[off] !== 0xff) fail("the JPEG file has a malformed segment");
    const marker = b[off + 1]!;
    if (marker === 0xd9) break;
    const len = (b[off + 2]! << 8) | b[off + 3]!;
    if (len < 2 || off + 2 + len > b.length) fail("the JPEG file is truncated");
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const h = (b[off + 5]! << 8) | b[off + 6]!;
      const w = (b[off + 7]! << 8) | b[off + 8]!;
      if (w === 0 || h === 0 || w > MAX_DIMENSION || h > MAX_DIMENSION) fail(`the image must be 1 to ${MAX_DIMENSION} pixels wide and high`);
      sawFrame = true;
    }
    if (marker === 0xda) {
      // Entropy-coded data follows the scan header; the file must end with EOI.
      if (b[b.length - 2] !== 0xff || b[b.length - 1] !== 0xd9) fail("the JPEG file does not end properly");
      break;
    }
    off += 2 + len;
  }
  if (!sawFrame) fail("the JPEG file has no image frame");
}

/** Returns the image type, or throws a validation error naming the problem. */
export function validateLogo(bytes: Uint8Array, declaredType?: string): "image/png" | "image/jpeg" {
  if (bytes.length === 0) fail("the file is empty");
  if (bytes.length > LOGO_MAX_BYTES) fail(`must be at most ${LOGO_MAX_BYTES / 1024} KiB`);
  const isPng = bytes.length > 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => bytes[i] === v);
  const isJpeg = bytes.length > 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!isPng && !isJpeg) fail("only PNG and JPEG images are accepted");
  const type = isPng ? "image/png" : "image/jpeg";
  if (declaredType && declaredType !== type && !(declaredType === "image/jpg" && type === "image/jpeg")) fail(`the file is ${type}, not ${declaredType}`);
  if (isPng) checkPng(bytes);
  else checkJpeg(bytes);
  return type;
}

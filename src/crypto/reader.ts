// Bounds-checked reading of the length-prefixed binary encodings. Every read checks the
// remaining length first, so truncated or hostile input ends in PacketError("malformed")
// and never in an over-read, a RangeError or a huge allocation.

import { fromUtf8 } from "./bytes.ts";
import { PacketError } from "./errors.ts";

export class ByteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(count: number, what: string): void {
    if (count > this.remaining) throw new PacketError("malformed", `truncated ${what}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }

  u16(what: string): number {
    this.need(2, what);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(what: string): bigint {
    this.need(8, what);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return value;
  }

  /** A u64 that must fit a JS number exactly (timestamps in milliseconds). */
  safeU64(what: string): number {
    const value = this.u64(what);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new PacketError("malformed", `${what} out of range`);
    return Number(value);
  }

  /** A view into the input, not a copy: the relay passes these bytes through untouched. */
  take(count: number, what: string): Uint8Array {
    this.need(count, what);
    const out = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  shortBytes(what: string): Uint8Array {
    return this.take(this.u8(what), what);
  }

  shortText(what: string): string {
    const bytes = this.shortBytes(what);
    try {
      return fromUtf8(bytes);
    } catch {
      throw new PacketError("malformed", `${what} is not UTF-8`);
    }
  }

  end(what: string): void {
    if (this.remaining !== 0) throw new PacketError("malformed", `trailing bytes after ${what}`);
  }
}

// Identifier rules shared by keys, packets and the server-side codec (no crypto here,
// so the relay can import it). One spelling per value: ids are compared as strings.

const DEVICE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const PREKEY_ID = /^(0|[1-9][0-9]{0,19})$/;
const MAX_U64 = (1n << 64n) - 1n;

export function isDeviceId(value: string): boolean {
  return DEVICE_ID.test(value);
}

/** User ids are opaque UTF-8 (e.g. "alice@site"): 1..255 bytes, no control characters. */
export function isUserId(value: string): boolean {
  return value.length > 0 && new TextEncoder().encode(value).length <= 255 && !/[\u0000-\u001f\u007f]/.test(value);
}

/** Prekey ids are unsigned 64-bit integers written in decimal: JSON numbers would lose bits. */
export function isPrekeyId(value: string): boolean {
  return PREKEY_ID.test(value) && BigInt(value) <= MAX_U64;
}

export function prekeyIdToBigInt(value: string): bigint {
  if (!isPrekeyId(value)) throw new RangeError(`invalid prekey id ${JSON.stringify(value)}`);
  return BigInt(value);
}

export function assertDeviceId(value: string): void {
  if (!isDeviceId(value)) throw new RangeError(`invalid device id ${JSON.stringify(value)}`);
}

export function assertUserId(value: string): void {
  if (!isUserId(value)) throw new RangeError("invalid user id");
}

// The plaintext inside a packet body: a message type code (the numbering the compliance
// format uses too) and its content, plus copies of the header's ttl, bor, sent time and
// conversation id so the decrypted message is self-describing. Encoded as UTF-8 JSON:
// only clients ever see it, so the relay's no-JSON rule does not apply.

import { fromUtf8, utf8 } from "./bytes.ts";
import { PacketError } from "./errors.ts";

export const MessageType = {
  text: 1000,
  verification: 3000,
  createRoom: 4001,
  roomMembers: 4002,
  leaveRoom: 4003,
  roomParameters: 4004,
  deleteRoom: 4005,
  deleteOrRecall: 4011,
  star: 4012,
  /** Reserved (attributes sync request). */
  attributesSync: 4013,
  pin: 4014,
  /** A member's device asks the room for keys of Files-area entries it lacks (src/client/room-keys.ts). */
  roomFileKeyRequest: 4015,
  file: 6000,
  call: 7000,
  location: 8000,
  edit: 9000,
} as const;

export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

const CODES = new Set<number>(Object.values(MessageType));

export function isMessageTypeCode(value: unknown): value is MessageTypeCode {
  return typeof value === "number" && CODES.has(value);
}

export interface Payload {
  type: MessageTypeCode;
  /** Type-specific JSON content; its shape belongs to the feature that sends it. */
  content: unknown;
  ttl: number;
  bor: number;
  sentAt: number;
  conversationId: string;
}

export function encodePayload(payload: Payload): Uint8Array {
  return utf8(JSON.stringify(payload));
}

/** Parses a decrypted payload; a structurally wrong one is "bad_body" (its sender is at fault). */
export function decodePayload(bytes: Uint8Array): Payload {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch {
    throw new PacketError("bad_body", "payload is not JSON");
  }
  if (typeof value !== "object" || value === null) throw new PacketError("bad_body", "payload is not an object");
  const record = value as Record<string, unknown>;
  const { type, ttl, bor, sentAt, conversationId } = record;
  if (!isMessageTypeCode(type)) throw new PacketError("bad_body", "unknown message type");
  if (!isCount(ttl) || !isCount(bor) || !isCount(sentAt) || typeof conversationId !== "string" || !("content" in record)) {
    throw new PacketError("bad_body", "payload fields");
  }
  return { type, content: record.content, ttl, bor, sentAt, conversationId };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

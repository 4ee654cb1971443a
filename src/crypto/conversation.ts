// Conversation ids (vgroupid): a direct message's id is derived from its two users, so
// both sides and the server compute the same one; rooms and groups get random ids with a
// kind prefix. Validation is pure so the relay's codec can use it.

import { concatBytes, shortBytes, systemRandom, toHex, utf8, type RandomSource } from "./bytes.ts";
import { assertUserId } from "./ids.ts";
import { sha256 } from "./suites.ts";

export type ConversationKind = "direct" | "room" | "group";

const DIRECT = /^[0-9a-f]{64}$/;
const ROOM = /^S[0-9a-f]{63}$/;
const GROUP = /^G[0-9a-f]{63}$/;
const DM_LABEL = utf8("outpost/v1/dm\0");

/** The kind of a conversation id, or undefined when it is not one. */
export function conversationKind(id: string): ConversationKind | undefined {
  if (DIRECT.test(id)) return "direct";
  if (ROOM.test(id)) return "room";
  if (GROUP.test(id)) return "group";
  return undefined;
}

export function isConversationId(id: string): boolean {
  return conversationKind(id) !== undefined;
}

/**
 * SHA-256("outpost/v1/dm\0" ‖ len‖id_low ‖ len‖id_high), ids ordered by their UTF-8 bytes:
 * order-independent, and the length prefixes keep ("ab","c") apart from ("a","bc").
 */
export async function directConversationId(userA: string, userB: string): Promise<string> {
  assertUserId(userA);
  assertUserId(userB);
  const [low, high] = [utf8(userA), utf8(userB)].sort(compareBytes) as [Uint8Array, Uint8Array];
  return toHex(await sha256(concatBytes(DM_LABEL, shortBytes(low), shortBytes(high))));
}

export async function newRoomId(random: RandomSource = systemRandom): Promise<string> {
  return "S" + toHex(await random(32)).slice(0, 63);
}

export async function newGroupId(random: RandomSource = systemRandom): Promise<string> {
  return "G" + toHex(await random(32)).slice(0, 63);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// The message kinds the SDK sends and receives, with the content each carries inside the
// encrypted payload (type codes as in COMPLIANCE-FORMAT.md).
import { MessageType, type MessageTypeCode } from "../crypto/index.ts";

export { MessageType };

export interface TextContent {
  text: string;
  links?: { url: string }[];
}
export interface EditContent {
  type: "text" | "location";
  originalmessageid: string;
  text?: string;
  location?: LocationContent;
}
export interface LocationContent {
  latitude: number;
  longitude: number;
  accuracy?: number;
  /** Live sharing: updates follow as edits (9000, type "location") of this message. */
  live?: boolean;
}
export interface DeleteContent {
  msgid: string;
  isrecall: boolean;
}
export interface StarContent {
  attributes: { msgid: string; isstarred: boolean }[];
}
export interface PinContent {
  pinned: boolean;
}
export interface VerificationContent {
  keyverify: { msgtype: 1 | 2 | 3 | 4 | 5; fingerprint?: string };
}
export interface ControlContent {
  control: Record<string, unknown>;
}

/** A decrypted, verified message as the SDK hands it to the application. */
export interface ReceivedMessage {
  packetId: string;
  seq: number;
  conversationId: string;
  senderUserId: string;
  senderDeviceId: string;
  type: MessageTypeCode;
  content: unknown;
  sentAt: number;
  ttl: number;
  bor: number;
  /** The relay delivered it to part of the conversation only (call keys, a room's file keys). */
  directed?: true;
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/g;

/** Links inside a text message, as the retention format lists them. */
export function extractLinks(text: string): { url: string }[] {
  return [...new Set(text.match(URL_RE) ?? [])].map((url) => ({ url }));
}

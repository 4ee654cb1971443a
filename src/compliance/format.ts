// Compliance (data retention) line format: the typed records the writer accepts after a
// packet is decrypted, their validation, and the pure mapping record → one JSON line whose
// fields, value types and key order match the retention format customers' tooling parses.
import * as z from "zod";
import { MessageType } from "../crypto/payload.ts";

const userId = z.string().min(1).max(255);
const messageId = z.string().regex(/^[0-9a-f]{32}$/, "must be 32 lowercase hex characters");
const seconds = z.number().int().min(0).max(0xffffffff);
const epochMs = z.number().int().min(0).max(8_640_000_000_000);
const usernameHash = z.string().min(1).max(128);

/** A direct conversation id is 64 hex; rooms start with S, groups with G (see src/crypto). */
export const directConversationPattern = /^[0-9a-f]{64}$/;
const conversationId = z.string().regex(/^(?:[0-9a-f]{64}|[SG][0-9a-f]{63})$/, "must be a direct (64 hex), room (S + 63 hex) or group (G + 63 hex) conversation id");

/** What the writer knows about every message, whatever its type. */
const envelope = {
  /** Packet id, the idempotency key: a re-delivered message carries the same one. */
  messageId,
  /** Server receive time in microseconds since the epoch (msg_ts, time, time_iso derive from it). */
  receivedAtUs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  sender: userId,
  senderType: z.enum(["normal", "guest"]),
  /** The other user of a direct conversation; must be absent for rooms and groups. */
  receiver: userId.optional(),
  conversationId,
  /** Expiration and burn-on-read, seconds (0 = none), from the packet header. */
  ttl: seconds,
  bor: seconds,
  /** Whether the sender's security group allows link previews (decides `links`). */
  linkPreviews: z.boolean(),
};

const textContent = z.object({
  text: z.string(),
  /** Links the sending client previewed; when absent they are taken from the text. */
  links: z.array(z.string().min(1)).optional(),
});

const verificationContent = z.object({
  /** 1 request, 2 response and request, 3 accept, 4 reject, 5 not now. */
  kind: z.number().int().min(1).max(5),
  verifiedKey: z.string().min(1).optional(),
});

const fileContent = z.object({
  fileName: z.string().min(1).max(1024),
  fileId: z.string().min(1).max(128),
  isScreenshot: z.boolean().optional(),
  uploadedBy: z.string().min(1).optional(),
  uploadedAtMs: epochMs.optional(),
});

const callContent = z.object({
  /** 0 starting, 1 completed, 2 missed, 3 cancelled. */
  status: z.number().int().min(0).max(3),
  callUri: z.string().min(1).optional(),
  callUriIpv6: z.string().min(1).optional(),
  meetingId: z.number().int().min(0).optional(),
  participants: z.array(usernameHash).optional(),
  inviteMessageId: messageId.optional(),
  startMessageId: messageId.optional(),
  durationSeconds: seconds.optional(),
  version: z.number().int().min(0).optional(),
  versionCheck: z.boolean().optional(),
});

const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);
const locationContent = z.object({ latitude, longitude });

const editContent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), originalMessageId: messageId, text: z.string() }),
  z.object({
    type: z.literal("location"),
    originalMessageId: messageId.optional(),
    latitude,
    longitude,
    shareExpiresAtMs: epochMs.optional(),
  }),
]);

const createRoomContent = z.object({
  title: z.string().optional(),
  description: z.string().optional(),
  masters: z.array(userId),
  members: z.array(userId),
  ttl: seconds.optional(),
  bor: seconds.optional(),
  changeMask: z.number().int().min(0).max(127).optional(),
});

const roomMembersContent = z.object({ addedUsers: z.array(userId), deletedUsers: z.array(userId) });

/** Bits of `changemask` on 4004: which room parameters changed. */
export const ChangeMask = { masters: 1, ttl: 2, title: 4, description: 8, meetingIdKey: 16, bor: 32, savedFile: 64 } as const;

const roomParametersContent = z
  .object({
    changeMask: z.number().int().min(1).max(127),
    title: z.string().optional(),
    description: z.string().optional(),
    masters: z.array(userId).optional(),
    members: z.array(userId).optional(),
    ttl: seconds.optional(),
    bor: seconds.optional(),
    fileVaultInfo: z.object({ fileHash: z.string().min(1), guid: z.string().min(1), key: z.string().min(1) }).optional(),
  })
  .refine((c) => (c.changeMask & ChangeMask.savedFile) === 0 || c.fileVaultInfo !== undefined, {
    path: ["fileVaultInfo"],
    message: "is required when changeMask has the saved-file bit (64)",
  });

const deleteOrRecallContent = z.object({ isRecall: z.boolean(), messageId });
const starContent = z.object({ attributes: z.array(z.object({ isStarred: z.boolean(), messageId })).min(1) });
const pinContent = z.object({ pinned: z.boolean() });
/** Types whose content carries nothing the retention format records. */
const noContent = z.unknown();

/** Decrypted file bytes: in memory, or a function opening a fresh stream (so a retry can read them again). */
export type AttachmentData = Uint8Array | (() => AsyncIterable<Uint8Array>);
const attachmentData = z.custom<AttachmentData>((v) => v instanceof Uint8Array || typeof v === "function", "must be the decrypted bytes or a function returning them as chunks");

function kind<C extends number, S extends z.ZodType>(type: C, content: S) {
  return z.object({ ...envelope, type: z.literal(type), content });
}

export const complianceRecordSchema = z
  .discriminatedUnion("type", [
    kind(MessageType.text, textContent),
    kind(MessageType.verification, verificationContent),
    z.object({ ...envelope, type: z.literal(MessageType.file), content: fileContent, attachment: attachmentData }),
    kind(MessageType.call, callContent),
    kind(MessageType.location, locationContent),
    kind(MessageType.edit, editContent),
    kind(MessageType.createRoom, createRoomContent),
    kind(MessageType.roomMembers, roomMembersContent),
    kind(MessageType.leaveRoom, noContent),
    kind(MessageType.roomParameters, roomParametersContent),
    kind(MessageType.deleteRoom, noContent),
    kind(MessageType.deleteOrRecall, deleteOrRecallContent),
    kind(MessageType.star, starContent),
    kind(MessageType.attributesSync, noContent),
    kind(MessageType.pin, pinContent),
    kind(MessageType.roomFileKeyRequest, noContent),
  ])
  .superRefine((r, ctx) => {
    const direct = directConversationPattern.test(r.conversationId);
    if (direct && r.receiver === undefined) ctx.addIssue({ code: "custom", path: ["receiver"], message: "is required in a direct conversation" });
    if (!direct && r.receiver !== undefined) ctx.addIssue({ code: "custom", path: ["receiver"], message: "is only allowed in a direct conversation" });
  });

export type ComplianceRecord = z.infer<typeof complianceRecordSchema>;
export type FileRecord = Extract<ComplianceRecord, { type: 6000 }>;

/** A record that can never be retained as given (the sender's client or the integration is at fault). */
export class ComplianceRecordError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid compliance record: ${issues.map((i) => `${i.path || "(record)"} ${i.message}`).join("; ")}`);
    this.name = "ComplianceRecordError";
  }
}

/** Validates an input record; the error names every offending field (content fields included). */
export function parseComplianceRecord(input: unknown): ComplianceRecord {
  const parsed = complianceRecordSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ComplianceRecordError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })));
}

// ---------------------------------------------------------------------------------------------
// Time fields (all UTC).

/** `M/D/YY h:mm AM`, the human-readable form used by `time`, `ttl`, `bor` and file upload times. */
export function formatShortTime(ms: number): string {
  const d = new Date(ms);
  const hour = d.getUTCHours();
  const yy = String(d.getUTCFullYear() % 100).padStart(2, "0");
  const mm = String(d.getUTCMinutes()).padStart(2, "0");
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${yy} ${hour % 12 || 12}:${mm} ${hour < 12 ? "AM" : "PM"}`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** `YYYY-MM-DD hh:mm:ss.xxx` (milliseconds truncated, as msg_ts shows more digits). */
export function formatIsoTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** `yyyymmddHHMMSSmmm`, the sortable stamp of rotated files and attachment names. */
export function formatStamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`;
}

/** Seconds with exactly six decimals, as a string (a JSON number would lose the microseconds). */
export function formatMsgTs(us: number): string {
  return `${Math.floor(us / 1_000_000)}.${pad(us % 1_000_000, 6)}`;
}

// ---------------------------------------------------------------------------------------------
// Attachment names.

/** File names are capped at 255 bytes by common file systems; we stay strictly below. */
export const MAX_NAME_BYTES = 254;
const encoder = new TextEncoder();
const byteLength = (s: string) => encoder.encode(s).length;

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function cutToBytes(s: string, max: number): string {
  if (byteLength(s) <= max) return s;
  let out = "";
  let used = 0;
  for (const ch of s) {
    const n = byteLength(ch);
    if (used + n > max) break;
    out += ch;
    used += n;
  }
  return out;
}

/** The display name made safe as one path component: no separators, NUL or control characters. */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[\u0000-\u001f\u007f/\\]/g, "_");
  return cleaned === "." || cleaned === ".." || cleaned === "" ? "_" : cleaned;
}

/**
 * `attachment_<stamp>_<name>` under 255 bytes: the end of the original name's stem is cut and its
 * extension kept when the extension is short enough to keep; `suffix` (e.g. `_1`, used when the
 * name is taken by another message) goes before the extension.
 */
export function attachmentFileName(receivedAtUs: number, fileName: string, suffix = ""): string {
  const prefix = `attachment_${formatStamp(Math.floor(receivedAtUs / 1000))}_`;
  const name = safeFileName(fileName);
  const budget = MAX_NAME_BYTES - byteLength(prefix) - byteLength(suffix);
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && byteLength(name.slice(dot)) <= 32 ? name.slice(dot) : "";
  const stem = ext ? name.slice(0, dot) : name;
  if (byteLength(name) <= budget) return prefix + stem + suffix + ext;
  return prefix + cutToBytes(stem, budget - byteLength(ext)) + suffix + ext;
}

// ---------------------------------------------------------------------------------------------
// Lines.

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+/gi;

/** http(s) URLs in a text, without the punctuation that usually ends a sentence after them. */
export function linksInText(text: string): string[] {
  return (text.match(URL_IN_TEXT) ?? []).map(trimUrlEnd);
}

/** Drops sentence punctuation after a URL; a closing parenthesis only when it has no opening one in the URL. */
function trimUrlEnd(url: string): string {
  let u = url;
  for (;;) {
    const last = u.at(-1)!;
    const unbalanced = last === ")" && u.split("(").length < u.split(")").length;
    if (!".,;:!?'\"]}".includes(last) && !unbalanced) return u;
    u = u.slice(0, -1);
  }
}

type Json = string | number | boolean | Json[] | { [k: string]: Json | undefined };

/** Copies a value with object keys in code-unit order at every depth; undefined members are dropped. */
function sorted(value: Json): Json {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== "object") return value;
  const out: { [k: string]: Json } = {};
  for (const key of Object.keys(value).sort()) {
    const v = value[key];
    if (v !== undefined) out[key] = sorted(v);
  }
  return out;
}

function typeFields(r: ComplianceRecord, attachmentPath: string | undefined): { [k: string]: Json | undefined } {
  switch (r.type) {
    case MessageType.text: {
      const links = r.linkPreviews ? (r.content.links ?? linksInText(r.content.text)) : [];
      return { message: r.content.text, links: links.length > 0 ? links.map((url) => ({ url })) : undefined };
    }
    case MessageType.verification:
      return { keyverify: { msgtype: r.content.kind, verifiedkey: r.content.verifiedKey } };
    case MessageType.file: {
      if (attachmentPath === undefined) throw new Error("a file record is formatted only after its attachment is stored");
      const c = r.content;
      return {
        file: {
          filename: c.fileName,
          guid: c.fileId,
          isscreenshot: c.isScreenshot,
          localfilename: attachmentPath,
          uploadedbyuser: c.uploadedBy,
          uploadedtimestamp: c.uploadedAtMs === undefined ? undefined : formatShortTime(c.uploadedAtMs),
        },
      };
    }
    case MessageType.call: {
      const c = r.content;
      return {
        call: {
          calluri: c.callUri,
          calluriipv6: c.callUriIpv6,
          duration: c.durationSeconds,
          invitemsgid: c.inviteMessageId,
          meetingid: c.meetingId,
          participants: c.participants,
          startmsgid: c.startMessageId,
          status: c.status,
          version: c.version,
          versioncheck: c.versionCheck,
        },
      };
    }
    case MessageType.location:
      return { location: { latitude: r.content.latitude, longitude: r.content.longitude } };
    case MessageType.edit: {
      const c = r.content;
      if (c.type === "text") return { edit: { originalmessageid: c.originalMessageId, text: c.text, type: "text" } };
      return {
        edit: {
          latitude: c.latitude,
          longitude: c.longitude,
          originalmessageid: c.originalMessageId,
          shareexpiration: c.shareExpiresAtMs === undefined ? undefined : formatShortTime(c.shareExpiresAtMs),
          type: "location",
        },
      };
    }
    case MessageType.createRoom: {
      const c = r.content;
      return {
        control: { bor: c.bor, changemask: c.changeMask, description: c.description, masters: c.masters, members: c.members, msgtype: r.type, title: c.title, ttl: c.ttl },
      };
    }
    case MessageType.roomMembers:
      return { control: { addedusers: r.content.addedUsers, deletedusers: r.content.deletedUsers, msgtype: r.type } };
    case MessageType.roomParameters: {
      const c = r.content;
      const vault = c.fileVaultInfo;
      return {
        control: {
          bor: c.bor,
          changemask: c.changeMask,
          description: c.description,
          filevaultinfo: vault ? { filehash: vault.fileHash, guid: vault.guid, key: vault.key } : undefined,
          masters: c.masters,
          members: c.members,
          msgtype: r.type,
          title: c.title,
          ttl: c.ttl,
        },
      };
    }
    case MessageType.deleteOrRecall:
      return { control: { isrecall: r.content.isRecall, msgid: r.content.messageId, msgtype: r.type } };
    case MessageType.star:
      return { control: { attributes: r.content.attributes.map((a) => ({ isstarred: a.isStarred, msgid: a.messageId })), msgtype: r.type } };
    case MessageType.pin:
      return { control: { msgtype: r.type, pinned: r.content.pinned } };
    case MessageType.leaveRoom:
    case MessageType.deleteRoom:
    case MessageType.attributesSync:
    case MessageType.roomFileKeyRequest:
      return {};
  }
}

/**
 * One retention line (without its newline) for a validated record. `attachmentPath` is the
 * stored attachment's full path, required for file messages.
 */
export function formatLine(r: ComplianceRecord, attachmentPath?: string): string {
  const receivedMs = Math.floor(r.receivedAtUs / 1000);
  const line: { [k: string]: Json | undefined } = {
    ...typeFields(r, attachmentPath),
    bor: r.bor > 0 ? formatShortTime(receivedMs + r.bor * 1000) : undefined,
    message_id: r.messageId,
    msg_ts: formatMsgTs(r.receivedAtUs),
    msgtype: r.type,
    receiver: r.receiver,
    sender: r.sender,
    sender_type: r.senderType,
    time: formatShortTime(receivedMs),
    time_iso: formatIsoTime(receivedMs),
    ttl: r.ttl > 0 ? formatShortTime(receivedMs + r.ttl * 1000) : undefined,
    vgroupid: r.conversationId,
  };
  return JSON.stringify(sorted(line));
}

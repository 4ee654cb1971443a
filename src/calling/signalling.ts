// The calling signalling protocol (v1): the small typed messages a participant and
// the calling node exchange (join with a token, one SDP offer/answer, ICE, leave,
// pausing). Served today on the node's own WebSocket; the relay will carry the same messages.
// Namespace import: under vitest on Bun the named `z` export of zod 4.6 resolves to undefined.
import * as z from "zod";

export const mediaKinds = ["audio", "video", "screen"] as const;
export type MediaKind = (typeof mediaKinds)[number];

/** Hard limits of the node; the join token may only narrow them. */
export const callLimits = {
  /** Participants of an ordinary call (every one may send). */
  callParticipants: 100,
  /** Everyone in a broadcast (senders and listeners together). */
  broadcastParticipants: 500,
  /** Senders of a broadcast. */
  broadcastSenders: 5,
  /** Receive slots a participant may ask for, per kind. */
  receiveSlots: { audio: 8, video: 16, screen: 1 } as Record<MediaKind, number>,
  /** Largest signalling frame accepted (an SDP with 25 m-lines fits easily). */
  maxFrameBytes: 64 * 1024,
} as const;

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:@-]+$/, "letters, digits and _ . : @ - only");
const mid = z.string().min(1).max(32);
const sdp = z.string().min(10).max(callLimits.maxFrameBytes);

/** What the messaging server grants one participant for one call (kept by the node, named by an opaque token). */
export const joinGrantSchema = z
  .object({
    callId: id,
    participantId: id,
    /** Security-group switches and the call type decide these. */
    kinds: z.object({ audio: z.boolean(), video: z.boolean(), screen: z.boolean() }).strict(),
    forceTcp: z.boolean().default(false),
    mode: z.enum(["call", "broadcast"]).default("call"),
    /** In a broadcast only senders publish; in a call everyone is a sender. */
    role: z.enum(["sender", "listener"]).default("sender"),
    ttlSeconds: z.number().int().min(5).max(3600).default(120),
  })
  .strict();
export type JoinGrantInput = z.input<typeof joinGrantSchema>;
export type JoinGrant = z.output<typeof joinGrantSchema>;

const kindList = z.array(z.enum(mediaKinds)).max(3).refine((k) => new Set(k).size === k.length, "no kind twice");

export const clientMessageSchema = z.discriminatedUnion("t", [
  z.object({ t: z.literal("join"), token: z.string().min(16).max(256), send: kindList, receive: kindList }).strict(),
  z
    .object({
      t: z.literal("offer"),
      sdp,
      /** Which m-line carries each kind this participant sends. */
      send: z.object({ audio: mid.optional(), video: mid.optional(), screen: mid.optional() }).strict(),
      /** Which recvonly m-lines are receive slots of which kind. */
      receive: z
        .object({
          audio: z.array(mid).max(callLimits.receiveSlots.audio),
          video: z.array(mid).max(callLimits.receiveSlots.video),
          screen: z.array(mid).max(callLimits.receiveSlots.screen),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      t: z.literal("ice"),
      candidate: z.object({ candidate: z.string().max(1024), sdpMid: mid.nullish(), sdpMLineIndex: z.number().int().min(0).max(64).nullish() }).strict(),
    })
    .strict(),
  z.object({ t: z.literal("pause"), participantId: id, kind: z.enum(mediaKinds) }).strict(),
  z.object({ t: z.literal("resume"), participantId: id, kind: z.enum(mediaKinds) }).strict(),
  z.object({ t: z.literal("leave") }).strict(),
  z.object({ t: z.literal("ping"), n: z.number().int().optional() }).strict(),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export interface RosterEntry {
  participantId: string;
  send: MediaKind[];
  /** The CSRC the node stamps on this participant's forwarded packets: who sent a packet, without waiting for a slots message. */
  tag: number;
}

export interface SlotAssignment {
  mid: string;
  kind: MediaKind;
  /** Whose media this slot carries now; null when empty. */
  participantId: string | null;
}

export type ErrorCode =
  | "malformed"
  | "rate-limited"
  | "bad-token"
  | "kind-not-allowed"
  | "call-full"
  | "senders-full"
  | "mode-mismatch"
  | "not-joined"
  | "already-joined"
  | "bad-offer"
  | "unknown-participant"
  | "internal";

export type NodeMessage =
  | { t: "joined"; callId: string; participantId: string; mode: "call" | "broadcast"; role: "sender" | "listener"; forceTcp: boolean; participants: RosterEntry[] }
  | { t: "answer"; sdp: string }
  /** The node's side of the media connection is up: what is sent from now on is forwarded. */
  | { t: "media-ready" }
  | { t: "participant-joined"; participant: RosterEntry }
  | { t: "participant-left"; participantId: string }
  | { t: "slots"; slots: SlotAssignment[] }
  | { t: "error"; code: ErrorCode; message: string; fatal: boolean }
  | { t: "pong"; n?: number }
  /** remaining: after a leave, how many participants stay (0: the leaver was the last one). */
  | { t: "ended"; reason: "call-ended" | "left" | "replaced"; remaining?: number };

/** Parses one frame from a participant; returns a readable problem instead of throwing. */
export function parseClientMessage(raw: string | ArrayBuffer | Uint8Array): { ok: true; msg: ClientMessage } | { ok: false; problem: string } {
  const text = typeof raw === "string" ? raw : new TextDecoder().decode(raw);
  if (text.length > callLimits.maxFrameBytes) return { ok: false, problem: `frame larger than ${callLimits.maxFrameBytes} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: "not JSON" };
  }
  const r = clientMessageSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0]!;
    return { ok: false, problem: `${first.path.join(".") || "message"}: ${first.message}` };
  }
  return { ok: true, msg: r.data };
}

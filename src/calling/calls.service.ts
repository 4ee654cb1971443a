// Call setup for clients: who may start or join a call of a conversation, with which media
// (the caller's security group), how many may be in it, and the node join tokens that follow.
// The server keeps a small in-memory registry of calls (conversation, network, participants)
// fed by the relay's call signalling; the media and the call keys never pass through here.
import { randomBytes } from "node:crypto";
import type { AppContext } from "../app/context.ts";
import { relayHooks } from "../relay/hooks.ts";
import { AppError } from "../http/errors.ts";
import { getConversation } from "../modules/conversations/conversations.service.ts";
import type { DevicePrincipal } from "../modules/devices/devices.service.ts";
import { getSecurityGroup } from "../modules/security-groups/security-groups.service.ts";
import { joinGrantFor } from "./grants.ts";
import { callLimits, type JoinGrantInput } from "./signalling.ts";
import { callingService } from "./supervisor.ts";

export type CallMode = "call" | "broadcast";

/** Calls one device may be in (or hold tokens for) at once: a call and a hand-over, with room to spare. */
export const MAX_CALLS_PER_DEVICE = 4;
export type CallRole = "sender" | "listener";

export interface CallParticipantEntry {
  deviceId: string;
  userId: string;
  role: CallRole;
  /** granted: holds a token not yet used (counts until it expires); joined: in the call on the node. */
  state: "granted" | "joined";
  expiresAt: number;
}

export interface ActiveCallInfo {
  callId: string;
  conversationId: string;
  networkId: string;
  mode: CallMode;
  startedBy: string;
  startedAt: number;
  participants: Map<string, CallParticipantEntry>;
}

export interface CallTicket {
  callId: string;
  conversationId: string;
  mode: CallMode;
  role: CallRole;
  participantId: string;
  startedAt: string;
  startedBy: string;
  token: string;
  expiresAt: string;
  kinds: { audio: boolean; video: boolean; screen: boolean };
  forceTcp: boolean;
}

class CallRegistry {
  readonly calls = new Map<string, ActiveCallInfo>();

  /** Participants still counting: joined, or holding a token that has not expired. */
  live(call: ActiveCallInfo, except?: string): CallParticipantEntry[] {
    const now = Date.now();
    for (const [id, p] of call.participants) if (p.state === "granted" && p.expiresAt <= now) call.participants.delete(id);
    return [...call.participants.values()].filter((p) => p.deviceId !== except);
  }

  joined(callId: string, deviceId: string) {
    const p = this.calls.get(callId)?.participants.get(deviceId);
    if (p) p.state = "joined";
  }

  /** The device's signalling to the node ended: it is out of the call; an empty call is forgotten. */
  left(callId: string, deviceId: string) {
    const call = this.calls.get(callId);
    if (!call) return;
    call.participants.delete(deviceId);
    if (this.live(call).length === 0) this.calls.delete(callId);
  }

  /** Forgets calls nobody joined whose tokens have all expired. */
  sweep() {
    for (const [id, call] of this.calls) if (this.live(call).length === 0) this.calls.delete(id);
  }

  /** Calls (other than `except`) where this device is, or holds a token. */
  callsOf(deviceId: string, except?: string): number {
    let n = 0;
    for (const call of this.calls.values()) if (call.callId !== except && call.participants.has(deviceId)) n++;
    return n;
  }

  holdsGrant(callId: string, deviceId: string): boolean {
    return this.calls.get(callId)?.participants.has(deviceId) ?? false;
  }
}

const registries = new WeakMap<AppContext, CallRegistry>();
export function callRegistry(ctx: AppContext): CallRegistry {
  let r = registries.get(ctx);
  if (!r) {
    const registry = (r = new CallRegistry());
    registries.set(ctx, registry);
    // A call's media key goes only to the devices in the call: the relay lets such a
    // packet through when its sender and every recipient are participants of one call here.
    relayHooks(ctx).directedAudiences.push((conversationId, sender, deviceIds) => {
      if (deviceIds.length === 0) return false;
      for (const call of registry.calls.values()) {
        if (call.conversationId !== conversationId || !call.participants.has(sender)) continue;
        if (deviceIds.every((d) => call.participants.has(d))) return true;
      }
      return false;
    });
  }
  return r;
}

function refuse(code: "forbidden" | "conflict" | "not_found" | "unavailable" | "rate_limited", field: string, rule: string, message: string): never {
  throw new AppError(code, message, [{ path: field, rule, message }]);
}

/** The caller's calling switches; audio off means no calls at all (video and screen ride on a call). */
function callingOf(ctx: AppContext, me: DevicePrincipal) {
  const calling = getSecurityGroup(ctx, me.networkId, me.securityGroupId).settings.calling;
  if (!calling.audio) refuse("forbidden", "conversationId", "calling.audio", "calling is turned off for your security group (calling.audio is off)");
  return calling;
}

async function issue(ctx: AppContext, me: DevicePrincipal, call: ActiveCallInfo, role: CallRole): Promise<CallTicket> {
  const calling = callingOf(ctx, me);
  // Every token is state on the node: one device cannot pile them up.
  if (callRegistry(ctx).callsOf(me.deviceId, call.callId) >= MAX_CALLS_PER_DEVICE) {
    refuse("rate_limited", "callId", "calls_per_device", `this device is in ${MAX_CALLS_PER_DEVICE} calls already; leave one first`);
  }
  const service = callingService(ctx);
  if (!service) refuse("unavailable", "callId", "callingMode", "calling is off on this server");
  const grant: JoinGrantInput = joinGrantFor(calling, { callId: call.callId, participantId: me.deviceId, mode: call.mode, role });
  let t: { token: string; expiresAt: string };
  try {
    t = await service.client.issueJoinToken(grant);
  } catch {
    refuse("unavailable", "callId", "node", "the calling node is not reachable; try again shortly");
  }
  call.participants.set(me.deviceId, { deviceId: me.deviceId, userId: me.userId, role, state: "granted", expiresAt: Date.parse(t.expiresAt) });
  return {
    callId: call.callId,
    conversationId: call.conversationId,
    mode: call.mode,
    role,
    participantId: me.deviceId,
    startedAt: new Date(call.startedAt).toISOString(),
    startedBy: call.startedBy,
    token: t.token,
    expiresAt: t.expiresAt,
    kinds: grant.kinds,
    forceTcp: grant.forceTcp ?? false,
  };
}

/** Starts a call in a conversation the caller is a member of; the caller is its first participant (and a broadcast's first sender). */
export async function startCall(ctx: AppContext, me: DevicePrincipal, input: { conversationId: string; mode?: CallMode }): Promise<CallTicket> {
  callingOf(ctx, me);
  // Throws not_found for non-members: they learn nothing about the conversation.
  getConversation(ctx, me, input.conversationId);
  callRegistry(ctx).sweep();
  const call: ActiveCallInfo = {
    callId: `c${randomBytes(16).toString("hex")}`,
    conversationId: input.conversationId,
    networkId: me.networkId,
    mode: input.mode ?? "call",
    startedBy: me.userId,
    startedAt: Date.now(),
    participants: new Map(),
  };
  const ticket = await issue(ctx, me, call, "sender");
  callRegistry(ctx).calls.set(call.callId, call);
  return ticket;
}

/** Joins an active call of a conversation the caller (still) belongs to, within the call's limits. */
export async function joinCall(ctx: AppContext, me: DevicePrincipal, callId: string, input: { role?: CallRole } = {}): Promise<CallTicket> {
  const reg = callRegistry(ctx);
  const call = reg.calls.get(callId);
  if (!call || call.networkId !== me.networkId) refuse("not_found", "callId", "exists", `no active call ${callId}`);
  getConversation(ctx, me, call.conversationId);
  const others = reg.live(call, me.deviceId);
  const role: CallRole = call.mode === "call" ? "sender" : (input.role ?? "listener");
  if (call.mode === "call") {
    if (input.role === "listener") refuse("conflict", "role", "mode", "an ordinary call has no listeners; every participant may send");
    if (others.length >= callLimits.callParticipants) refuse("conflict", "callId", "call_full", `this call has ${callLimits.callParticipants} participants, the most a call can have`);
  } else {
    if (others.length >= callLimits.broadcastParticipants) refuse("conflict", "callId", "call_full", `this broadcast has ${callLimits.broadcastParticipants} participants, the most a broadcast can have`);
    if (role === "sender" && others.filter((p) => p.role === "sender").length >= callLimits.broadcastSenders) {
      refuse("conflict", "role", "senders_full", `this broadcast has ${callLimits.broadcastSenders} senders already; join as a listener`);
    }
  }
  return issue(ctx, me, call, role);
}

/** The active calls of a network (the admin view scoped to it). */
export function callsOfNetwork(ctx: AppContext, networkId: string): ActiveCallInfo[] {
  return [...callRegistry(ctx).calls.values()].filter((c) => c.networkId === networkId);
}

// The send path: a binary frame from an authenticated device is parsed (no crypto, no
// JSON), checked against membership, recipients, compliance and expiration policy,
// committed with the group-commit writer, acknowledged, and only then fanned out.
import type { AppContext } from "../app/context.ts";
import { PacketError, parsePacketEnvelope } from "../crypto/index.ts";
import { relayHooks } from "./hooks.ts";
import { packetStore } from "./store.ts";
import { isGuestBlocked } from "../modules/network-admin/network-admin.service.ts";

/** Largest packet the relay takes (files travel as separate encrypted chunks). */
export const MAX_PACKET_BYTES = 4 * 1024 * 1024;
/** Packets waiting for the writer that make a batch worth committing without waiting for its timer. */
const FLUSH_AT = 32;

export interface SenderPrincipal {
  deviceId: string;
  userId: string;
  networkId: string;
  maxExpirationSeconds: number;
}

export class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly packetId?: string,
  ) {
    super(message);
  }
}

export interface Accepted {
  packetId: string;
  seq: number;
  duplicate: boolean;
}

/** Validates synchronously, then resolves once the packet is durable (or was already stored). */
export function acceptPacket(ctx: AppContext, me: SenderPrincipal, bytes: Uint8Array): Promise<Accepted> {
  if (bytes.length > MAX_PACKET_BYTES) throw new Refusal("oversized", `packets are at most ${MAX_PACKET_BYTES} bytes (got ${bytes.length})`);
  let envelope;
  try {
    envelope = parsePacketEnvelope(bytes);
  } catch (e) {
    if (e instanceof PacketError) throw new Refusal(e.code, `the packet was refused: ${e.message}`);
    throw e;
  }
  const { header, wraps, shared } = envelope;
  const id = header.packetId;
  if (header.senderDeviceId !== me.deviceId || header.senderUserId !== me.userId) {
    throw new Refusal("forged_sender", "the packet names a sender other than this authenticated device", id);
  }
  const store = packetStore(ctx);
  const conv = store.conversationInfo(header.conversationId);
  // A guest the conversation's network blocked reaches nobody there (checked first, so it stays
  // enforced when conversations span networks; today they never do, see the check below).
  if (conv && conv.networkId !== me.networkId && isGuestBlocked(ctx, conv.networkId, me.userId)) {
    throw new Refusal("guest_blocked", "this network's administrators blocked you", id);
  }
  if (!conv || conv.networkId !== me.networkId || !conv.members.has(me.userId)) {
    throw new Refusal("not_member", "you are not a member of this conversation", id);
  }
  const compliance = store.complianceDevice(me.networkId);
  for (const w of wraps) {
    if (!conv.deviceOwners.has(w.deviceId) && w.deviceId !== compliance) {
      throw new Refusal("unknown_recipient", `device ${w.deviceId} does not belong to a member of this conversation`, id);
    }
  }
  // A packet goes either to every current device of every member (the sender's own device
  // aside) or only to the sender's own devices (private properties such as a pin). A sender
  // with a stale device list is told so and seals again, so a new device misses nothing.
  // A directed audience (the devices in a call of this conversation) is the one other
  // subset a packet may go to.
  const privateToSender = wraps.every((w) => w.deviceId === compliance || conv.deviceOwners.get(w.deviceId) === me.userId);
  const directed =
    !privateToSender &&
    relayHooks(ctx).isDirectedAudience(
      header.conversationId,
      me.deviceId,
      wraps.filter((w) => w.deviceId !== compliance).map((w) => w.deviceId),
    );
  if (!privateToSender && !directed) {
    let missing = 0;
    const covered = new Set(wraps.map((w) => w.deviceId));
    for (const deviceId of conv.deviceOwners.keys()) if (deviceId !== me.deviceId && !covered.has(deviceId)) missing++;
    if (missing > 0) throw new Refusal("missing_recipients", `${missing} current device(s) of this conversation's members have no key wrap: refresh their devices and seal again`, id);
  }
  if (compliance && !wraps.some((w) => w.deviceId === compliance)) {
    throw new Refusal("compliance_wrap_missing", "this network retains messages: every packet must carry a key wrap for its compliance device", id);
  }
  // Expiration beyond the sender's security-group maximum is clamped, not refused; no
  // expiration at all means the maximum. The expirer deletes the packet at that time.
  const now = Date.now();
  const ttl = header.ttl === 0 ? me.maxExpirationSeconds : Math.min(header.ttl, me.maxExpirationSeconds);
  const expiresAt = now + ttl * 1000;

  const stored = ctx.writer.run(() => {
    const inserted = store.insertPacket.run(id, header.conversationId, me.deviceId, shared, now, expiresAt, header.bor, directed ? 1 : 0);
    if (inserted.changes === 0) {
      const existing = store.findPacket.get(id)!;
      if (existing.sender !== me.deviceId) throw new Refusal("replay", "this packet id was already used", id);
      return { packetId: id, seq: existing.seq, duplicate: true };
    }
    const seq = Number(inserted.lastInsertRowid);
    for (const w of wraps) store.insertWrap.run(w.deviceId, seq, w.bytes);
    return { packetId: id, seq, duplicate: false };
  });
  // Under load the writer's timer can fire late behind a stream of socket reads: once a
  // batch worth committing has gathered, commit it now rather than wait for the timer.
  if (ctx.writer.pending >= FLUSH_AT) ctx.writer.flush();
  return stored.then((accepted) => {
    if (!accepted.duplicate) {
      const sessions = relayHooks(ctx).sessions;
      for (const w of wraps) sessions.get(w.deviceId)?.offer(accepted.seq, shared, w.bytes, header.bor > 0, directed);
    }
    return accepted;
  });
}

// One device's WebSocket: authentication (first text frame), packets in (binary),
// delivery out (binary: u64 seq ‖ packet with only this device's wrap), cursor acks,
// and ephemeral signals (typing, read receipts, presence) that are never stored.
// Delivery reads the device's queue from the log by cursor; a committed packet is sent
// from memory only while the device is caught up and the socket has room.
import type { ServerWebSocket } from "bun";
import type { AppContext } from "../app/context.ts";
import { AppError } from "../http/errors.ts";
import { authenticateDevice, clientPolicy, type ClientPolicy } from "../modules/devices/devices.service.ts";
import { acceptPacket, Refusal, type SenderPrincipal } from "./accept.ts";
import { closeCallSignalling, onCallFrame } from "./call-signalling.ts";
import { relayHooks, type SessionLike } from "./hooks.ts";
import { packetStore } from "./store.ts";

const BATCH = 256;
/** Above this many queued bytes we stop sending and wait for Bun's drain callback. */
const HIGH_WATER = 1024 * 1024;
const AUTH_TIMEOUT_MS = 10_000;
const CURSOR_SAVE_MS = 50;

/**
 * u64 word ‖ the packet with only this device's wrap. The word is the sequence number; its top
 * bit marks a directed delivery (the packet went to part of the conversation only, which the
 * relay checked against its audience rules): sequence numbers never come near 2^63.
 */
export function deliveryFrame(seq: number, shared: Uint8Array, wrap: Uint8Array, directed = false): Uint8Array {
  const out = new Uint8Array(8 + shared.length + 4 + wrap.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, (Math.floor(seq / 2 ** 32) | (directed ? 0x80000000 : 0)) >>> 0);
  view.setUint32(4, seq >>> 0);
  out.set(shared, 8);
  let o = 8 + shared.length;
  view.setUint16(o, 1);
  view.setUint16(o + 2, wrap.length);
  out.set(wrap, o + 4);
  return out;
}

interface Principal extends SenderPrincipal {
  securityGroupId: string;
  policy: ClientPolicy;
}

export class DeviceSession implements SessionLike {
  private principal: Principal | undefined;
  private sentSeq = 0;
  private caughtUp = false;
  private pumpScheduled = false;
  private closed = false;
  private ackedSeq = 0;
  private persistedSeq = 0;
  private cursorWriting = false;
  private cursorTimer: ReturnType<typeof setTimeout> | undefined;
  /** Delivered burn-on-read packets not yet acknowledged: their wraps go once acknowledged. */
  private burnPending: number[] = [];
  private readonly authTimer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly ctx: AppContext,
    private readonly ws: ServerWebSocket<unknown>,
  ) {
    this.authTimer = setTimeout(() => this.close(4401, "authenticate within 10 seconds"), AUTH_TIMEOUT_MS);
  }

  get deviceId() {
    return this.principal?.deviceId ?? "";
  }
  get userId() {
    return this.principal?.userId ?? "";
  }

  onFrame(message: string | Uint8Array) {
    if (this.closed) return;
    if (typeof message === "string") return this.onText(message);
    if (!this.principal) return this.close(4401, "authenticate first");
    let pending;
    try {
      pending = acceptPacket(this.ctx, this.principal, message);
    } catch (e) {
      return this.refuse(e);
    }
    pending.then(
      (a) => {
        if (!this.closed) this.ws.send(a.duplicate ? `{"t":"ack","id":"${a.packetId}","seq":${a.seq},"duplicate":true}` : `{"t":"ack","id":"${a.packetId}","seq":${a.seq}}`);
      },
      (e) => this.refuse(e),
    );
  }

  private refuse(e: unknown) {
    if (e instanceof Refusal) {
      this.ctx.log.logger.debug({ device: this.deviceId, code: e.code }, "packet refused");
      this.sendControl({ t: "refused", code: e.code, message: e.message, ...(e.packetId ? { id: e.packetId } : {}) });
    } else {
      this.ctx.log.logger.error({ device: this.deviceId, err: { message: (e as Error).message } }, "packet not stored");
      this.sendControl({ t: "refused", code: "unavailable", message: "the packet could not be stored; send it again" });
    }
  }

  private onText(text: string) {
    let msg: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      msg = parsed as Record<string, unknown>;
    } catch {
      return this.sendControl({ t: "error", code: "malformed", message: "control frames are JSON objects with a string field t" });
    }
    if (msg.t === "auth") return this.authenticate(msg);
    if (!this.principal) return this.close(4401, "authenticate first");
    switch (msg.t) {
      case "ack":
        return this.onAck(msg.seq);
      case "typing":
        return this.signal(msg, "typing");
      case "receipt":
        return this.signal(msg, "receipt");
      case "presence":
        return this.presence(msg);
      case "call":
        return onCallFrame(this.ctx, this, msg);
      default:
        return this.sendControl({ t: "error", code: "unknown_type", message: `unknown control frame type ${JSON.stringify(msg.t)}` });
    }
  }

  private authenticate(msg: Record<string, unknown>) {
    if (this.principal) return this.sendControl({ t: "error", code: "conflict", message: "already authenticated" });
    const { device, token, cursor } = msg;
    if (typeof device !== "string" || typeof token !== "string" || (cursor !== undefined && (typeof cursor !== "number" || !Number.isSafeInteger(cursor) || cursor < 0))) {
      return this.close(4400, "auth needs device and token strings and an optional non-negative integer cursor");
    }
    let p;
    try {
      p = authenticateDevice(this.ctx, device, token);
    } catch (e) {
      const code = e instanceof AppError && e.code === "account_suspended" ? 4403 : 4401;
      return this.close(code, e instanceof AppError ? e.message : "authentication failed");
    }
    clearTimeout(this.authTimer);
    const policy = clientPolicy(this.ctx, p);
    this.principal = { ...p, maxExpirationSeconds: policy.maxExpirationSeconds, policy };
    const sessions = relayHooks(this.ctx).sessions;
    sessions.get(p.deviceId)?.close(4000, "replaced by a newer connection of this device");
    sessions.set(p.deviceId, this);
    const stored = this.ctx.storage.readConns[0]!.query("select acked_seq as seq from device_cursors where device_id = ?").get(p.deviceId) as { seq: number } | null;
    this.persistedSeq = this.ackedSeq = stored?.seq ?? 0;
    // A client may ask to resume from its own cursor (it de-duplicates anything seen twice).
    this.sentSeq = typeof cursor === "number" ? cursor : this.ackedSeq;
    this.sendControl({ t: "ready", userId: p.userId, deviceId: p.deviceId, cursor: this.sentSeq, policy });
    this.ctx.log.logger.debug({ device: p.deviceId }, "device connected");
    this.pump();
  }

  offer(seq: number, shared: Uint8Array, wrap: Uint8Array, burnOnRead: boolean, directed: boolean) {
    if (!this.principal || this.closed || seq <= this.sentSeq) return;
    if (!this.caughtUp || this.ws.getBufferedAmount() > HIGH_WATER) {
      this.caughtUp = false;
      return this.schedulePump();
    }
    const status = this.ws.send(deliveryFrame(seq, shared, wrap, directed));
    if (status === 0) {
      this.paused();
      return this.schedulePump();
    }
    this.sentSeq = seq;
    if (burnOnRead) this.burnPending.push(seq);
    if (status === -1) this.paused();
  }

  private schedulePump() {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  /** Reads the queue after sentSeq and sends until caught up or the socket is full. */
  private pump() {
    this.pumpScheduled = false;
    if (!this.principal || this.closed) return;
    const store = packetStore(this.ctx);
    for (;;) {
      if (this.ws.getBufferedAmount() > HIGH_WATER) return this.paused(); // drain() resumes
      const rows = store.readQueue(this.principal.deviceId, this.sentSeq, BATCH);
      for (const r of rows) {
        const status = this.ws.send(deliveryFrame(r.seq, r.shared, r.wrap, r.directed === 1));
        if (status === 0) return this.paused(); // dropped by Bun: sent again from the log after drain
        this.sentSeq = r.seq;
        if (r.bor > 0) this.burnPending.push(r.seq);
        if (status === -1) return this.paused();
      }
      if (rows.length < BATCH) {
        this.caughtUp = true;
        return;
      }
    }
  }

  private paused() {
    this.caughtUp = false;
    relayHooks(this.ctx).stats.backpressurePauses++;
  }

  onDrain() {
    this.pump();
  }

  private onAck(seq: unknown) {
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) {
      return this.sendControl({ t: "error", code: "malformed", message: "ack.seq must be a non-negative integer" });
    }
    if (seq <= this.ackedSeq) return;
    this.ackedSeq = Math.min(seq, this.sentSeq);
    this.scheduleCursorSave();
  }

  /**
   * Acks are folded into one cursor write per device every CURSOR_SAVE_MS: a cursor saved a
   * little late only means a few packets may be delivered again (clients de-duplicate),
   * while a write per ack would double the writer's load.
   */
  private scheduleCursorSave() {
    this.cursorTimer ??= setTimeout(() => {
      this.cursorTimer = undefined;
      this.writeCursor();
    }, CURSOR_SAVE_MS);
  }

  /** At most one cursor write in flight per device; acks arriving meanwhile are coalesced. */
  private writeCursor() {
    if (this.cursorWriting || this.ackedSeq <= this.persistedSeq || !this.principal) return;
    this.cursorWriting = true;
    const upTo = this.ackedSeq;
    const burn = this.burnPending.filter((s) => s <= upTo);
    this.burnPending = this.burnPending.filter((s) => s > upTo);
    const deviceId = this.principal.deviceId;
    packetStore(this.ctx)
      .saveCursor(deviceId, upTo, burn)
      .then(
        () => {
          this.persistedSeq = upTo;
        },
        (e) => this.ctx.log.logger.error({ device: deviceId, err: { message: (e as Error).message } }, "cursor not saved"),
      )
      .finally(() => {
        this.cursorWriting = false;
        if (!this.closed && this.ackedSeq > this.persistedSeq) this.scheduleCursorSave();
      });
  }

  /** Typing and read receipts go to the other members' connected devices, never to storage. */
  private signal(msg: Record<string, unknown>, kind: "typing" | "receipt") {
    const p = this.principal!;
    const conversationId = msg.c;
    if (typeof conversationId !== "string") return this.sendControl({ t: "error", code: "malformed", message: `${kind}.c must be a conversation id` });
    const conv = packetStore(this.ctx).conversationInfo(conversationId);
    if (!conv || conv.networkId !== p.networkId || !conv.members.has(p.userId)) return this.sendControl({ t: "error", code: "not_member", message: "you are not a member of this conversation" });
    const out: Record<string, unknown> = { t: kind, c: conversationId, u: p.userId };
    if (kind === "receipt") {
      if (conv.kind !== "direct") return this.sendControl({ t: "error", code: "forbidden", message: "read receipts exist only in direct messages" });
      if (!clientPolicy(this.ctx, p).readReceipts) return this.sendControl({ t: "error", code: "forbidden", message: "read receipts are turned off in this network" });
      const ids = msg.ids;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > 500 || !ids.every((i) => typeof i === "string" && /^[0-9a-f]{32}$/.test(i))) {
        return this.sendControl({ t: "error", code: "malformed", message: "receipt.ids must be 1-500 packet ids (32 hex)" });
      }
      out.ids = ids;
    }
    const sessions = relayHooks(this.ctx).sessions;
    for (const [deviceId, owner] of conv.deviceOwners) {
      if (deviceId === p.deviceId || (kind === "typing" && owner === p.userId)) continue;
      sessions.get(deviceId)?.sendControl(out);
    }
  }

  /** Presence is published only when the sender's security group allows it. */
  private presence(msg: Record<string, unknown>) {
    const p = this.principal!;
    if (!clientPolicy(this.ctx, p).presence) return this.sendControl({ t: "error", code: "forbidden", message: "presence is turned off for your security group" });
    if (msg.status !== "available" && msg.status !== "busy" && msg.status !== "away") {
      return this.sendControl({ t: "error", code: "malformed", message: "presence.status must be available, busy or away" });
    }
    const out = { t: "presence", u: p.userId, status: msg.status };
    const sessions = relayHooks(this.ctx).sessions;
    for (const deviceId of packetStore(this.ctx).contactDevices(p.userId)) if (deviceId !== p.deviceId) sessions.get(deviceId)?.sendControl(out);
  }

  sendControl(message: Record<string, unknown>) {
    if (!this.closed) this.ws.send(JSON.stringify(message));
  }

  close(code: number, reason: string) {
    if (this.closed) return;
    this.onClosed();
    try {
      this.ws.close(code, reason);
    } catch {
      /* already closed by the peer */
    }
  }

  onClosed() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    closeCallSignalling(this);
    if (this.principal) {
      const sessions = relayHooks(this.ctx).sessions;
      if (sessions.get(this.principal.deviceId) === this) sessions.delete(this.principal.deviceId);
      // Acks that arrived just before the close still count.
      if (this.cursorTimer) clearTimeout(this.cursorTimer);
      this.cursorTimer = undefined;
      this.cursorWriting = false;
      this.writeCursor();
    }
  }
}

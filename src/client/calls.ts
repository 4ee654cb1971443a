// Calls for SDK clients: setup through the messaging server (start/join → node join token),
// node signalling carried over the client's relay connection, the call's lifecycle as
// encrypted 7000 messages (start, invite, end, missed, cancelled), and the per-call media key
// sent in encrypted 7000 messages to the participants' devices only, rotated when one leaves.
import { newCallKey, type CallKey } from "../calling/frame-crypto.ts";
// Types only: the werift participant is loaded when a call is first entered, so importing the
// SDK (browsers, bots without calls) does not pull in the WebRTC stack.
import type { CallParticipant, ReceivedMedia, SignallingChannel } from "../calling/participant.ts";
import type { MediaKind, NodeMessage } from "../calling/signalling.ts";
import type { CallTicket } from "../calling/calls.service.ts";
import type { ComplianceRecord } from "../compliance/format.ts";
import { fromBase64url, MessageType, toBase64url, toHex } from "../crypto/index.ts";
import { OutpostError } from "./api.ts";
import type { OutpostClient } from "./client.ts";
import type { ReceivedMessage } from "./messages.ts";

/** Call status codes of 7000 messages (as the retention format records them). */
export const CallStatus = { starting: 0, completed: 1, missed: 2, cancelled: 3 } as const;
export type CallStatusCode = (typeof CallStatus)[keyof typeof CallStatus];

/**
 * The content of a 7000 message as the SDK sends it: lowercase keys, the names the retention
 * output uses. A lifecycle message has `status`; a key message has `key` and no status.
 */
export interface CallContent {
  call: {
    callid: string;
    status?: CallStatusCode;
    /** SHA-256 (hex) of the usernames of those in the call. */
    participants?: string[];
    /** Invites: the start message of the call the invitee is asked into. */
    invitemsgid?: string;
    /** Ends (and invites): the call's start message. */
    startmsgid?: string;
    /** Ends: seconds from the start to the end. */
    duration?: number;
    /** 0 for a direct conversation, 1 for a group or room (a meeting). */
    meetingid?: number;
    mode?: "call" | "broadcast";
    /** Key messages only: the frame key id and the 32 raw key bytes (base64url). */
    key?: { id: number; k: string };
  };
}

type CallRecordContent = Extract<ComplianceRecord, { type: 7000 }>["content"];

/**
 * What the retention writer records for a 7000 message (the `content` of its record), or null
 * for a key message: keys are not part of the call's record.
 */
export function callRecordContent(content: unknown): CallRecordContent | null {
  const c = (content as Partial<CallContent> | null)?.call;
  if (!c || typeof c !== "object" || c.status === undefined) return null;
  return {
    status: c.status,
    ...(c.participants ? { participants: c.participants } : {}),
    ...(c.invitemsgid ? { inviteMessageId: c.invitemsgid } : {}),
    ...(c.startmsgid ? { startMessageId: c.startmsgid } : {}),
    ...(c.duration !== undefined ? { durationSeconds: c.duration } : {}),
    ...(c.meetingid !== undefined ? { meetingId: c.meetingid } : {}),
  };
}

/** The participants' username hash (the retention format lists these, never usernames). */
export async function usernameHash(username: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(username.toLowerCase()))));
}

/** The server's answer to start/join (the server's own type: a type-only import, nothing bundled). */
export type { CallTicket };

export interface CallOptions {
  send?: MediaKind[];
  receive?: Partial<Record<MediaKind, number>>;
  /** Local address for media (tests: loopback). */
  hostAddress?: string;
  timeoutMs?: number;
}

export interface CallEvent {
  callId: string;
  conversationId: string;
  status: CallStatusCode;
  message: ReceivedMessage;
}

const CALL_ID = /^c[0-9a-f]{32}$/;

/** The relay connection as the participant's signalling channel for one call. */
class RelayChannel implements SignallingChannel {
  open = true;
  private left = false;
  private readonly messageFns: ((text: string) => void)[] = [];
  private readonly closeFns = new Set<() => void>();

  constructor(
    private readonly client: OutpostClient,
    private readonly callId: string,
    private readonly onGone: () => void,
  ) {}

  send(text: string) {
    if (!this.open) return;
    const m = JSON.parse(text) as { t?: unknown };
    if (m.t === "leave") this.left = true;
    this.client.control({ t: "call", call: this.callId, m });
  }
  onMessage(fn: (text: string) => void) {
    this.messageFns.push(fn);
  }
  onClose(fn: () => void) {
    if (!this.open) {
      fn();
      return () => {};
    }
    this.closeFns.add(fn);
    return () => this.closeFns.delete(fn);
  }
  deliver(m: unknown) {
    const text = JSON.stringify(m);
    for (const fn of this.messageFns) fn(text);
  }
  /** The server's link to the node ended (or the relay connection did). */
  gone() {
    if (!this.open) return;
    this.open = false;
    this.onGone();
    for (const fn of [...this.closeFns]) fn();
    this.closeFns.clear();
  }
  close() {
    // Leaving through the node closes the server's link; a channel that never joined just goes.
    if (this.open && !this.left && this.client.connected) this.client.control({ t: "call", call: this.callId, m: { t: "leave" } });
    this.gone();
  }
}

/** Call features of one client: `new CallManager(client)` after creating it, before connect(). */
export class CallManager {
  private readonly channels = new Map<string, RelayChannel>();
  private readonly active = new Map<string, ActiveCall>();
  /** Keys that arrived before their call finished joining (the owner sends as soon as the node reports the join). */
  private readonly pendingKeys = new Map<string, { key: CallKey; fromDevice: string }[]>();
  /** Start messages seen, by call id: joiners take the start message id for their end message from here. */
  readonly starts = new Map<string, { startMessageId: string; conversationId: string }>();
  private readonly callListeners = new Set<(e: CallEvent) => void>();

  constructor(readonly client: OutpostClient) {
    client.on("control", (e) => this.onControl(e.frame));
    client.on("disconnected", () => {
      // The server closes every node link of a relay connection that ends.
      for (const ch of [...this.channels.values()]) ch.gone();
    });
    client.on("message", (e) => {
      if (e.message.type === MessageType.call) this.onCallMessage(e.message).catch(() => undefined);
    });
  }

  /** Lifecycle 7000 messages of every call in this client's conversations (status 0 from others: an incoming call). */
  onCall(fn: (e: CallEvent) => void): () => void {
    this.callListeners.add(fn);
    return () => this.callListeners.delete(fn);
  }

  /** Starts a call in a conversation: the server checks membership and your security group, then this device joins first and holds the key. */
  async start(conversationId: string, opts: CallOptions & { mode?: "call" | "broadcast"; ringTimeoutMs?: number } = {}): Promise<ActiveCall> {
    const ticket = await this.client.api.call<CallTicket>("POST", "/api/client/v1/calls", { conversationId, mode: opts.mode ?? "call" });
    const call = await this.enter(ticket, opts, true);
    try {
      await call.announce(opts.ringTimeoutMs);
    } catch (e) {
      // Nobody could be told (e.g. no other device to deliver to): do not sit in a call alone.
      await call.participant.leave();
      throw e;
    }
    return call;
  }

  /** Joins an active call (from a start or invite message); resolves once media flows and the call key is here. */
  async join(callId: string, opts: CallOptions & { role?: "sender" | "listener" } = {}): Promise<ActiveCall> {
    if (!CALL_ID.test(callId)) throw new OutpostError("validation_failed", "callId: not a call id");
    const ticket = await this.client.api.call<CallTicket>("POST", `/api/client/v1/calls/${callId}/join`, opts.role ? { role: opts.role } : {});
    return this.enter(ticket, opts, false);
  }

  private async enter(ticket: CallTicket, opts: CallOptions, starter: boolean): Promise<ActiveCall> {
    const send = ticket.role === "listener" ? [] : (opts.send ?? ["audio"]).filter((k) => ticket.kinds[k]);
    const channel = new RelayChannel(this.client, ticket.callId, () => {
      if (this.channels.get(ticket.callId) === channel) this.channels.delete(ticket.callId);
    });
    this.channels.set(ticket.callId, channel);
    const { CallParticipant } = await import("../calling/participant.ts");
    const participant = await CallParticipant.join({
      channel: async () => channel,
      token: ticket.token,
      send,
      receive: opts.receive ?? { audio: 3 },
      forceTcp: ticket.forceTcp,
      hostAddress: opts.hostAddress,
      timeoutMs: opts.timeoutMs,
    });
    const call = new ActiveCall(this, ticket, participant, starter);
    this.active.set(ticket.callId, call);
    participant.onClosed(() => {
      if (this.active.get(ticket.callId) === call) this.active.delete(ticket.callId);
      // The node link is gone (left, ended by an administrator, relay dropped): so is the media.
      void participant.close();
    });
    for (const p of this.pendingKeys.get(ticket.callId) ?? []) await call.receiveKey(p.key, p.fromDevice);
    this.pendingKeys.delete(ticket.callId);
    await call.ready(opts.timeoutMs ?? 10_000);
    return call;
  }

  private onControl(frame: Record<string, unknown>) {
    const ch = typeof frame.call === "string" ? this.channels.get(frame.call) : undefined;
    if (!ch) return;
    if (frame.t === "call") ch.deliver(frame.m);
    else if (frame.t === "call-closed") ch.gone();
  }

  private async onCallMessage(m: ReceivedMessage) {
    const c = (m.content as Partial<CallContent> | null)?.call;
    if (!c || typeof c.callid !== "string" || !CALL_ID.test(c.callid)) return;
    if (c.key) {
      // A malformed key message (from a buggy or hostile member) is dropped, never thrown.
      if (typeof c.key !== "object" || !Number.isInteger(c.key.id) || c.key.id < 0 || c.key.id > 255 || typeof c.key.k !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(c.key.k)) return;
      const key = { keyId: c.key.id, raw: fromBase64url(c.key.k) };
      const call = this.active.get(c.callid);
      if (call) await call.receiveKey(key, m.senderDeviceId);
      else {
        const list = this.pendingKeys.get(c.callid) ?? [];
        // A bounded stash: keys of calls this device never joins are dropped.
        if (this.pendingKeys.size < 64 && list.length < 8) this.pendingKeys.set(c.callid, [...list, { key, fromDevice: m.senderDeviceId }]);
      }
      return;
    }
    if (c.status === undefined) return;
    if (c.status === CallStatus.starting && !c.invitemsgid) this.starts.set(c.callid, { startMessageId: m.packetId, conversationId: m.conversationId });
    for (const fn of this.callListeners) fn({ callId: c.callid, conversationId: m.conversationId, status: c.status, message: m });
  }

  /** @internal */
  startMessageOf(callId: string) {
    return this.starts.get(callId)?.startMessageId;
  }
}

/** One call this device is in. */
export class ActiveCall {
  readonly callId: string;
  readonly conversationId: string;
  readonly startedAt: number;
  /** Participant ids (device ids) in the order they joined the call: the first one holds the key. */
  private order: string[];
  /** Every device that was in the call at some point (the end message lists their users). */
  readonly everIn = new Set<string>();
  private readonly keyListeners = new Set<(keyId: number) => void>();
  private readonly errorListeners = new Set<(e: Error) => void>();
  private ringTimer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;
  /** The node said the call is over for this device: nothing it says after that changes the key. */
  private over = false;
  /** The call's start message (the 7000 with status 0). */
  startMessageId: string | undefined;

  constructor(
    private readonly manager: CallManager,
    readonly ticket: CallTicket,
    readonly participant: CallParticipant,
    private readonly starter: boolean,
  ) {
    this.callId = ticket.callId;
    this.conversationId = ticket.conversationId;
    this.startedAt = Date.parse(ticket.startedAt);
    this.startMessageId = manager.startMessageOf(this.callId);
    const p = participant;
    this.order = [...p.initialRoster, p.participantId, ...[...p.roster.keys()].filter((id) => !p.initialRoster.includes(id))];
    for (const id of this.order) this.everIn.add(id);
    p.onMessage((m) => void this.onNodeMessage(m).catch((e: unknown) => this.failed(e)));
    if (this.isKeyOwner) this.takeOverKey().catch((e: unknown) => this.failed(e));
  }

  get isKeyOwner(): boolean {
    return this.order[0] === this.participant.participantId;
  }

  get keyId(): number | undefined {
    return this.participant.keyring.current;
  }

  /** Device ids of the others now in the call. */
  get others(): string[] {
    return this.order.filter((id) => id !== this.participant.participantId);
  }

  private async onNodeMessage(m: NodeMessage) {
    if (this.over) return;
    if (m.t === "ended") this.over = true;
    if (m.t === "participant-joined") {
      this.order.push(m.participant.participantId);
      this.everIn.add(m.participant.participantId);
      clearTimeout(this.ringTimer);
      // The newcomer gets the current key, and only the current one: earlier frames stay closed to it.
      if (this.isKeyOwner && this.participant.keyring.current !== undefined) await this.sendKey(this.currentKey!, [m.participant.participantId]);
    } else if (m.t === "participant-left") {
      this.order = this.order.filter((id) => id !== m.participantId);
      // Whoever holds the key now (the owner, or the next in join order when the owner left)
      // rotates it, so the one who left cannot read what is sent from now on.
      if (this.isKeyOwner) await this.rotate();
    } else if (m.t === "ended" && m.reason === "call-ended" && this.isKeyOwner && !this.ended) {
      // Ended for everyone (by an administrator): the key holder writes the end, once.
      this.ended = true;
      clearTimeout(this.ringTimer);
      await this.writeEnd(this.everIn.size > 1 ? CallStatus.completed : CallStatus.cancelled, [...this.everIn]);
    }
  }

  private currentKey: CallKey | undefined;

  private async takeOverKey() {
    if (this.participant.keyring.current === undefined) {
      const k = newCallKey();
      await this.install(k);
      if (this.others.length) await this.sendKey(k, this.others);
    } else await this.rotate();
  }

  private async install(k: CallKey) {
    await this.participant.keyring.install(k);
    this.currentKey = k;
    for (const fn of this.keyListeners) fn(k.keyId);
  }

  /** A new key for those still in the call, in a 7000 message sealed for their devices only. */
  async rotate(): Promise<CallKey> {
    const k = newCallKey(this.participant.keyring.current);
    await this.install(k);
    if (this.others.length) await this.sendKey(k, this.others);
    return k;
  }

  private async sendKey(k: CallKey, devices: string[]) {
    const content: CallContent = { call: { callid: this.callId, key: { id: k.keyId, k: toBase64url(k.raw) } } };
    await this.manager.client.send(this.conversationId, MessageType.call, content, { devices });
  }

  /**
   * A key from the device of someone in the call now. Anyone else's key message is ignored:
   * a member who left (or never joined) must not be able to plant a key it knows.
   */
  async receiveKey(k: CallKey, fromDevice: string) {
    if (fromDevice === this.participant.participantId || !this.order.includes(fromDevice)) return;
    if (k.raw.length !== 32) return;
    try {
      await this.install(k);
    } catch {
      /* not a usable key: ignored like any other bad key message */
    }
  }

  /** Key distribution that failed (e.g. the relay was down when a key had to go out). */
  onError(fn: (e: Error) => void): () => void {
    this.errorListeners.add(fn);
    return () => this.errorListeners.delete(fn);
  }

  private failed(e: unknown) {
    const err = e instanceof Error ? e : new Error(String(e));
    for (const fn of this.errorListeners) fn(err);
  }

  onKey(fn: (keyId: number) => void): () => void {
    this.keyListeners.add(fn);
    return () => this.keyListeners.delete(fn);
  }

  /** Resolves once this device holds a call key. */
  ready(timeoutMs: number): Promise<void> {
    if (this.participant.keyring.current !== undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => (off(), reject(new OutpostError("timeout", `no call key within ${timeoutMs} ms`))), timeoutMs);
      const off = this.onKey(() => (clearTimeout(t), off(), resolve()));
    });
  }

  private async hashesOf(deviceIds: Iterable<string>): Promise<string[]> {
    const want = new Set(deviceIds);
    const view = await this.manager.client.conversation(this.conversationId);
    const users = await this.manager.client.lookupUsers({ userIds: view.members.map((m) => m.userId) });
    const names = users.filter((u) => u.devices.some((d) => want.has(d.deviceId))).map((u) => u.username);
    return (await Promise.all(names.map(usernameHash))).sort();
  }

  private meetingId(): number {
    return /^[0-9a-f]{64}$/.test(this.conversationId) ? 0 : 1;
  }

  /** @internal The start message (status 0) to every member; nobody joining within ringTimeoutMs makes it a missed call. */
  async announce(ringTimeoutMs?: number) {
    const content: CallContent = { call: { callid: this.callId, status: CallStatus.starting, participants: await this.hashesOf([this.participant.participantId]), meetingid: this.meetingId(), mode: this.ticket.mode } };
    const r = await this.manager.client.send(this.conversationId, MessageType.call, content);
    this.startMessageId = r.packetId;
    if (ringTimeoutMs && this.others.length === 0) {
      this.ringTimer = setTimeout(() => {
        if (this.others.length === 0 && this.everIn.size === 1) void this.finish(CallStatus.missed);
      }, ringTimeoutMs);
    }
  }

  /** Invites the conversation's members into this call again (status 0 naming the original start). */
  async invite() {
    if (!this.startMessageId) throw new OutpostError("not_found", "the start message of this call is not known on this device");
    const content: CallContent = {
      call: { callid: this.callId, status: CallStatus.starting, invitemsgid: this.startMessageId, startmsgid: this.startMessageId, participants: await this.hashesOf(this.order), meetingid: this.meetingId(), mode: this.ticket.mode },
    };
    return this.manager.client.send(this.conversationId, MessageType.call, content);
  }

  sendRtp(kind: MediaKind, payload: Uint8Array, opts?: { audioLevel?: number; marker?: boolean }) {
    return this.participant.sendRtp(kind, payload, opts);
  }

  onMedia(fn: (m: ReceivedMedia) => void) {
    return this.participant.onMedia(fn);
  }

  /** Leaves the call. The last one out writes its end: completed (with duration), or cancelled when nobody else ever came. */
  leave(): Promise<void> {
    return this.finish(this.everIn.size > 1 ? CallStatus.completed : CallStatus.cancelled);
  }

  private async finish(status: CallStatusCode) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.ringTimer);
    const everyone = [...this.everIn];
    // The node says whether anyone stays: only the last one out writes the end.
    const last = (await this.participant.leaveCounting()) === 0;
    if (!last || (!this.starter && status !== CallStatus.completed)) return;
    await this.writeEnd(status, everyone);
  }

  private async writeEnd(status: CallStatusCode, everyone: string[]) {
    const content: CallContent = {
      call: {
        callid: this.callId,
        status,
        participants: await this.hashesOf(everyone),
        meetingid: this.meetingId(),
        ...(this.startMessageId ? { startmsgid: this.startMessageId } : {}),
        ...(status === CallStatus.completed ? { duration: Math.max(0, Math.round((Date.now() - this.startedAt) / 1000)) } : {}),
      },
    };
    await this.manager.client.send(this.conversationId, MessageType.call, content);
  }
}

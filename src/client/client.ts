// The Outpost client SDK (isomorphic: fetch, WebSocket and WebCrypto only). It registers
// devices, keeps their keys and prekeys, seals every message for every recipient device
// (members' devices, the user's other devices and the network's compliance device),
// sends over the relay with at-least-once retries, and opens, verifies and de-duplicates
// what arrives, in order, acknowledging its cursor as it goes.
import {
  createDevice,
  createPrekeys,
  decodePrekey,
  DEFAULT_SUITE,
  fromBase64url,
  generateRootKey,
  importAgreementKeyPair,
  importSigningKeyPair,
  MessageType,
  openPacket,
  PacketError,
  parsePacketEnvelope,
  rootFingerprint,
  safetyNumber,
  sealPacket,
  toBase64url,
  toHex,
  type Device,
  type KeyPair,
  type MessageTypeCode,
  type PacketHeader,
  type Recipient,
  type SuiteId,
} from "../crypto/index.ts";
import { OutpostError, RestApi, type ClientConfig } from "./api.ts";
import { newSyncBundle, openSyncBundle, putSyncHistory, sealSyncHistory, syncSecrets, takeSyncHistory, type SyncHistory } from "./device-sync.ts";
import { pinnedTls } from "./pinning.ts";
import { extractLinks, type LocationContent, type ReceivedMessage } from "./messages.ts";
import type { PasswordRule } from "../modules/security-groups/password-rule.ts";

export interface ClientPolicy {
  maxExpirationSeconds: number;
  quickResponses: string[];
  locationSharing: boolean;
  linkPreviews: boolean;
  presence: boolean;
  /** Whether notifications may show a message's content, or only who it is from. */
  previewNotifications: boolean;
  readReceipts: boolean;
  complianceDeviceId: string | null;
  /** Attachments allowed both ways, and the largest upload in bytes (the server enforces both). */
  attachments: boolean;
  maxUploadBytes: number;
  /** Ask for the password again whenever the app comes back to the foreground. */
  alwaysReauthenticate: boolean;
  /** Whether the user may choose a password, and the rule it must meet (the server checks it again). */
  passwordChange: { allowed: boolean; rule: PasswordRule };
  /** Wrong local passwords in a row after which a client wipes its keys and history (0 = never). */
  deviceResetAfter: number;
}

export type { PasswordRule };

/** Everything a device must keep between runs (secret: store it encrypted at rest). */
export interface DeviceState {
  version: 1;
  config: ClientConfig;
  userId: string;
  username: string;
  deviceId: string;
  token: string;
  suite: SuiteId;
  rootPrivate: string;
  devicePrivate: string;
  certificate: string;
  prekeys: { id: string; kind: "one-time" | "last-resort"; private: string }[];
  cursor: number;
  /** Recently accepted packet ids (replay and duplicate detection). */
  seen: string[];
  verified: Record<string, string>;
}

export type ClientEvent =
  | { type: "message"; message: ReceivedMessage }
  | { type: "error"; code: string; message: string; seq?: number; packetId?: string }
  | { type: "duplicate"; packetId: string; seq: number }
  | { type: "typing"; conversationId: string; userId: string }
  | { type: "receipt"; conversationId: string; userId: string; packetIds: string[] }
  | { type: "presence"; userId: string; status: string }
  | { type: "burned"; packetId: string }
  | { type: "expired"; packetId: string }
  | { type: "connected" }
  /** A relay control frame this class does not handle itself (call signalling: src/client/calls.ts). */
  | { type: "control"; frame: Record<string, unknown> }
  | { type: "disconnected"; code: number; reason: string };
type EventOf<T extends ClientEvent["type"]> = Extract<ClientEvent, { type: T }>;

export interface SendOptions {
  /** Expiration in seconds from sending (clamped to the security group's maximum; 0 = the maximum). */
  ttl?: number;
  /** Burn-on-read in seconds from first read (0 = none). */
  bor?: number;
  /** Only the user's own devices (private properties such as pinning). */
  ownDevicesOnly?: boolean;
  /** Only these devices of the conversation's members (call keys go to call participants only); the compliance device still gets its copy. */
  devices?: string[];
}

export interface SendResult {
  packetId: string;
  seq: number;
  duplicate: boolean;
}

interface DirectoryEntry {
  userId: string;
  username: string;
  rootKey: { suite: SuiteId; publicKey: Uint8Array } | null;
  devices: { deviceId: string; certificate: Uint8Array }[];
  fetchedAt: number;
}

interface ConversationView {
  id: string;
  kind: "direct" | "group" | "room";
  title: string;
  description: string;
  ttl: number;
  bor: number;
  createdBy: string;
  members: { userId: string; role: "member" | "moderator" }[];
}

const DIRECTORY_TTL_MS = 5_000;
const PREKEY_LOW_WATER = 20;
const PREKEY_REFILL = 80;
const MAX_SEEN = 20_000;
/**
 * Cursor acks go out every ACK_EVERY packets or ACK_DELAY_MS after the first unacknowledged
 * one: each ack costs the relay a frame to parse, and a late ack only means a few packets
 * may come again after a reconnect (they are recognised as duplicates).
 */
const ACK_EVERY = 64;
const ACK_DELAY_MS = 100;

function randomHex(bytes: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

function unref(t: ReturnType<typeof setTimeout>) {
  (t as { unref?: () => void }).unref?.();
  return t;
}


export class OutpostClient {
  readonly api: RestApi;
  policy: ClientPolicy | undefined;
  private readonly device: Device;
  private readonly root: KeyPair;
  private readonly prekeySecrets = new Map<string, { kind: "one-time" | "last-resort"; keyPair: KeyPair }>();
  private readonly seen = new Set<string>();
  private readonly listeners = new Map<string, Set<(e: ClientEvent) => void>>();
  private readonly directory = new Map<string, DirectoryEntry>();
  private readonly conversations = new Map<string, { view: ConversationView; fetchedAt: number }>();
  private readonly claimed = new Map<string, Uint8Array[]>();
  private readonly lastResort = new Map<string, Uint8Array>();
  private readonly pending = new Map<string, { bytes: Uint8Array; resolve: (r: SendResult) => void; reject: (e: Error) => void }>();
  private readonly store = new Map<string, ReceivedMessage & { edited?: boolean; readAt?: number }>();
  private ws: WebSocket | undefined;
  private wantOpen = false;
  private ready: Promise<void> | undefined;
  private inbox: Promise<void> = Promise.resolve();
  private ackedCursor = 0;
  private unackedFrames = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private refilling = false;
  private reconnectDelay = 100;
  /** Longest wait between reconnection attempts (the delay doubles from 100 ms up to it). */
  maxReconnectDelayMs = 2000;
  /** How long one connection attempt may take to be accepted (socket, handshake, "ready") before it is given up and retried. */
  connectTimeoutMs = 10_000;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryNow: (() => void) | undefined;
  private complianceOwner: DirectoryEntry | undefined;
  /** Prekeys claimed per recipient device at a time (senders of many messages raise it). */
  prekeyBatch = 4;
  /**
   * Optional consumer awaited for every verified message BEFORE the cursor moves past it and
   * before its one-time prekey is forgotten (a retention writer acknowledges only what it
   * stored, and a crash before that leaves the packet openable on redelivery). If it
   * rejects, the cursor stays, the frames queued behind it are dropped and the client
   * reconnects from its cursor, so the relay delivers them again.
   */
  deliveryHandler: ((message: ReceivedMessage) => Promise<void>) | undefined;
  /**
   * Awaited after this client added members to a room (src/client/room-keys.ts hands them the
   * Files area's keys); a failing hook does not fail the member change, it reports on its own.
   */
  readonly membersAddedHooks: ((roomId: string, userIds: string[]) => Promise<void>)[] = [];
  /** Awaited after new prekey secrets are kept and before they are published (persist state first). */
  beforePrekeyUpload: ((state: DeviceState) => Promise<void>) | undefined;
  /**
   * Received frames waiting to be processed beyond which the client stops reading: it drops
   * the connection and reconnects from its cursor once it has processed them, so a slow
   * consumer keeps memory flat while the relay keeps the queue.
   */
  maxQueuedFrames = Number.POSITIVE_INFINITY;
  private queuedFrames = 0;
  /** Messages handed to the delivery handler and not yet completed (at most maxHandling). */
  private handling = 0;
  maxHandling = 256;
  private finalizing: Promise<void> = Promise.resolve();
  /** The connection closed because the consumer fell behind or failed; frames still arriving on it are dropped. */
  private throttledWs: WebSocket | undefined;
  /** Connections opened so far; frames remember which one brought them. */
  private connGen = 0;
  /** The delivery handler failed on a frame of this connection: skip what it queued behind it (it comes again after the reconnect). */
  private skipThroughGen = 0;

  private constructor(
    private readonly state: DeviceState,
    root: KeyPair,
    deviceKey: KeyPair,
    prekeys: { id: string; kind: "one-time" | "last-resort"; keyPair: KeyPair }[],
  ) {
    this.api = new RestApi(state.config.serviceUrl.replace(/\/$/, ""), `${state.deviceId}.${state.token}`, pinnedTls(state.config));
    this.root = root;
    this.device = { suite: state.suite, userId: state.userId, deviceId: state.deviceId, deviceKey, certificate: fromBase64url(state.certificate) };
    for (const p of prekeys) this.prekeySecrets.set(p.id, { kind: p.kind, keyPair: p.keyPair });
    for (const id of state.seen) this.seen.add(id);
    this.ackedCursor = state.cursor;
  }

  get userId() {
    return this.state.userId;
  }
  get deviceId() {
    return this.state.deviceId;
  }
  get username() {
    return this.state.username;
  }
  get cursor() {
    return this.state.cursor;
  }

  /**
   * Signs in and registers this device. The first device of a user creates the root key;
   * a further device needs `syncCode` from an existing device (it brings the root key over).
   */
  static async register(opts: { config: ClientConfig; username: string; password: string; deviceName?: string; prekeyCount?: number; syncCode?: string; suite?: SuiteId }): Promise<OutpostClient> {
    const api = new RestApi(opts.config.serviceUrl.replace(/\/$/, ""), undefined, pinnedTls(opts.config));
    const signIn = await api.call<{ userId: string; username: string; ticket: string; rootKey: { suite: SuiteId; publicKey: string } | null }>("POST", "/api/client/v1/sign-in", {
      networkId: opts.config.networkId,
      username: opts.username,
      password: opts.password,
    });
    let root: KeyPair;
    if (signIn.rootKey) {
      if (!opts.syncCode) throw new OutpostError("sync_required", "this user already has a device: create a sync code on it and pass it as syncCode");
      const { lookupHash } = await syncSecrets(opts.syncCode);
      const { bundle } = await api.call<{ bundle: string }>("POST", "/api/client/v1/sync-bundles/take", { ticket: signIn.ticket, lookupHash });
      root = await openSyncBundle(opts.syncCode, fromBase64url(bundle));
      if (toBase64url(root.publicBytes) !== signIn.rootKey.publicKey) throw new OutpostError("root_mismatch", "the synced root key is not this user's root key");
    } else {
      root = await generateRootKey(opts.suite ?? DEFAULT_SUITE);
    }
    const deviceId = `d${randomHex(12)}`;
    const device = await createDevice({ root, userId: signIn.userId, deviceId });
    const { published, secrets } = await createPrekeys({ device, count: opts.prekeyCount ?? 100 });
    const reg = await api.call<{ deviceId: string; token: string; policy: ClientPolicy }>("POST", "/api/client/v1/devices", {
      ticket: signIn.ticket,
      suite: root.suite,
      rootPublicKey: toBase64url(root.publicBytes),
      certificate: toBase64url(device.certificate),
      prekeys: published.map(toBase64url),
      name: opts.deviceName,
    });
    const state: DeviceState = {
      version: 1,
      config: opts.config,
      userId: signIn.userId,
      username: signIn.username,
      deviceId: reg.deviceId,
      token: reg.token,
      suite: root.suite,
      rootPrivate: toBase64url(root.privateBytes),
      devicePrivate: toBase64url(device.deviceKey.privateBytes),
      certificate: toBase64url(device.certificate),
      prekeys: secrets.map((s) => ({ id: s.id, kind: s.kind, private: toBase64url(s.keyPair.privateBytes) })),
      cursor: 0,
      seen: [],
      verified: {},
    };
    const client = new OutpostClient(state, root, device.deviceKey, secrets.map((s) => ({ id: s.id, kind: s.kind, keyPair: s.keyPair })));
    client.policy = reg.policy;
    return client;
  }

  /**
   * Rebuilds a client from exportState() output. With `policy` (kept from an earlier run) it
   * asks the server nothing, so a device can start while the server is unreachable; the
   * relay's ready frame brings the current policy once connected.
   */
  static async restore(state: DeviceState, opts: { policy?: ClientPolicy } = {}): Promise<OutpostClient> {
    const root = await importSigningKeyPair(state.suite, fromBase64url(state.rootPrivate));
    const deviceKey = await importSigningKeyPair(state.suite, fromBase64url(state.devicePrivate));
    const prekeys = await Promise.all(state.prekeys.map(async (p) => ({ id: p.id, kind: p.kind, keyPair: await importAgreementKeyPair(state.suite, fromBase64url(p.private)) })));
    const client = new OutpostClient(state, root, deviceKey, prekeys);
    client.policy = opts.policy ?? (await client.api.call<{ policy: ClientPolicy }>("GET", "/api/client/v1/me")).policy;
    return client;
  }

  exportState(): DeviceState {
    return {
      ...this.state,
      prekeys: [...this.prekeySecrets].map(([id, p]) => ({ id, kind: p.kind, private: toBase64url(p.keyPair.privateBytes) })),
      seen: [...this.seen].slice(-MAX_SEEN),
    };
  }

  on<T extends ClientEvent["type"]>(type: T, fn: (e: EventOf<T>) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as (e: ClientEvent) => void);
    return () => set.delete(fn as (e: ClientEvent) => void);
  }

  private emit(e: ClientEvent) {
    for (const fn of this.listeners.get(e.type) ?? []) fn(e);
  }

  // ---------------------------------------------------------------- relay connection

  /** Connects (and keeps reconnecting until close()); resolves once the relay accepted this device. */
  connect(): Promise<void> {
    this.wantOpen = true;
    this.ready ??= this.open();
    return this.ready;
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const url = `${this.api.baseUrl.replace(/^http/, "ws")}/api/client/v1/relay`;
      // Bun's WebSocket takes the same pinning options as its fetch (a browser's takes none).
      const ws = this.api.tls ? new WebSocket(url, { tls: this.api.tls } as unknown as string[]) : new WebSocket(url);
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      const gen = ++this.connGen;
      let settled = false;
      // A server that does not answer at all (out of reach rather than refusing) must not stall
      // the reconnection loop: no "ready" in time ends this attempt and the backoff goes on.
      const giveUp = unref(
        setTimeout(() => {
          if (!settled && ws.readyState !== WebSocket.CLOSED) ws.close();
        }, this.connectTimeoutMs),
      );
      ws.onopen = () => ws.send(JSON.stringify({ t: "auth", device: this.state.deviceId, token: this.state.token, cursor: this.state.cursor }));
      ws.onmessage = (ev) => {
        if (typeof ev.data === "string") {
          const msg = JSON.parse(ev.data) as Record<string, unknown>;
          if (msg.t === "ready") {
            clearTimeout(giveUp);
            this.policy = msg.policy as ClientPolicy;
            this.reconnectDelay = 100;
            settled = true;
            // The relay resumes from the cursor we sent; confirm it so its own cursor catches up.
            if (this.state.cursor > 0) ws.send(JSON.stringify({ t: "ack", seq: this.state.cursor }));
            resolve();
            this.emit({ type: "connected" });
            for (const p of this.pending.values()) ws.send(p.bytes as Uint8Array<ArrayBuffer>);
            return;
          }
          this.onControl(msg);
        } else {
          if (this.throttledWs === ws) return; // delivered again after the reconnect
          const frame = new Uint8Array(ev.data as ArrayBuffer);
          this.queuedFrames++;
          this.inbox = this.inbox
            .then(() => this.onDelivery(frame, gen))
            .finally(() => {
              this.queuedFrames--;
              this.maybeResume();
            });
          if (this.queuedFrames > this.maxQueuedFrames) this.throttle(ws, "the client is behind: resuming from its cursor");
        }
      };
      ws.onclose = (ev) => {
        clearTimeout(giveUp);
        if (this.ws === ws) this.ws = undefined;
        this.emit({ type: "disconnected", code: ev.code, reason: ev.reason });
        if (this.throttledWs === ws) {
          this.ready = undefined;
          this.maybeResume();
          return;
        }
        const fatal = ev.code === 4401 || ev.code === 4403 || ev.code === 4001;
        if (!settled) {
          settled = true;
          if (fatal || !this.wantOpen) {
            this.ready = undefined;
            return reject(new OutpostError(ev.code === 4403 ? "account_suspended" : "unauthenticated", ev.reason || `relay closed (${ev.code})`));
          }
        }
        if (fatal || !this.wantOpen || ev.code === 4000) {
          this.ready = undefined;
          return;
        }
        const delay = this.reconnectDelay;
        this.reconnectDelay = Math.min(this.reconnectDelay * 2, this.maxReconnectDelayMs);
        const attempt = () => {
          if (this.retryTimer) clearTimeout(this.retryTimer);
          this.retryTimer = undefined;
          this.retryNow = undefined;
          if (!this.wantOpen) return;
          this.ready = this.open();
          this.ready.then(resolve, () => undefined);
        };
        this.retryTimer = unref(setTimeout(attempt, delay));
        this.retryNow = attempt;
      };
      ws.onerror = () => undefined;
    });
  }

  private throttle(ws: WebSocket, reason: string) {
    if (this.throttledWs) return;
    this.throttledWs = ws;
    ws.close(1000, reason);
  }

  /** After a throttle: once the queue is empty and the old socket closed, reconnect from the cursor. */
  private maybeResume() {
    const old = this.throttledWs;
    if (!old || this.queuedFrames > 0 || this.handling > 0 || old.readyState !== WebSocket.CLOSED) return;
    this.throttledWs = undefined;
    if (!this.wantOpen) return;
    const delay = this.reconnectDelay;
    unref(
      setTimeout(() => {
        if (!this.wantOpen || this.ws) return;
        this.ready = this.open();
        this.ready.catch(() => undefined);
      }, delay),
    );
  }

  /**
   * Tries the waiting reconnection at once instead of after its backoff delay (a browser calls
   * this on its `online` event). Does nothing while connected or connecting.
   */
  reconnectNow(): void {
    const attempt = this.retryNow;
    if (!attempt || !this.wantOpen) return;
    this.reconnectDelay = 100;
    attempt();
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Closes the relay connection (after acknowledging what was processed). */
  async close(): Promise<void> {
    this.wantOpen = false;
    await this.inbox;
    await this.finalizing;
    this.flushAck();
    const ws = this.ws;
    this.ready = undefined;
    if (ws && ws.readyState <= WebSocket.OPEN) {
      await new Promise<void>((r) => {
        ws.addEventListener("close", () => r());
        ws.close(1000, "bye");
        unref(setTimeout(r, 1000));
      });
    }
    for (const p of this.pending.values()) p.reject(new OutpostError("closed", "the client was closed before the relay acknowledged this packet"));
    this.pending.clear();
  }

  private onControl(msg: Record<string, unknown>) {
    switch (msg.t) {
      case "ack": {
        const p = this.pending.get(msg.id as string);
        if (p) {
          this.pending.delete(msg.id as string);
          p.resolve({ packetId: msg.id as string, seq: msg.seq as number, duplicate: msg.duplicate === true });
        }
        return;
      }
      case "refused": {
        const p = typeof msg.id === "string" ? this.pending.get(msg.id) : undefined;
        if (p) {
          this.pending.delete(msg.id as string);
          p.reject(new OutpostError(String(msg.code), String(msg.message)));
        } else this.emit({ type: "error", code: String(msg.code), message: String(msg.message) });
        return;
      }
      case "typing":
        return this.emit({ type: "typing", conversationId: msg.c as string, userId: msg.u as string });
      case "receipt":
        return this.emit({ type: "receipt", conversationId: msg.c as string, userId: msg.u as string, packetIds: msg.ids as string[] });
      case "presence":
        return this.emit({ type: "presence", userId: msg.u as string, status: msg.status as string });
      case "error":
        return this.emit({ type: "error", code: String(msg.code), message: String(msg.message) });
      default:
        return this.emit({ type: "control", frame: msg });
    }
  }

  private async onDelivery(frame: Uint8Array, gen: number) {
    if (gen <= this.skipThroughGen) return;
    if (frame.length < 8) return this.emit({ type: "error", code: "malformed", message: "delivery frame too short" });
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    // The top bit of the sequence word is the relay's mark of a directed delivery (see deliveryFrame).
    const high = view.getUint32(0);
    const directed = (high & 0x80000000) !== 0;
    const seq = (high & 0x7fffffff) * 2 ** 32 + view.getUint32(4);
    const packet = frame.subarray(8);
    /** Runs once this frame is done with, in delivery order: what it means, then the cursor. */
    let complete: () => void;
    let message: ReceivedMessage | undefined;
    try {
      const opened = await openPacket({
        packet,
        deviceId: this.state.deviceId,
        findPrekey: (id) => this.prekeySecrets.get(id)?.keyPair,
        sender: (header) => this.senderKeys(header),
        isReplay: (id) => this.seen.has(id),
      });
      const { header, payload } = opened;
      const m: ReceivedMessage = (message = {
        packetId: header.packetId,
        seq,
        conversationId: header.conversationId,
        senderUserId: header.senderUserId,
        senderDeviceId: header.senderDeviceId,
        type: payload.type,
        content: payload.content,
        sentAt: header.sentAt,
        ttl: header.ttl,
        bor: header.bor,
        ...(directed ? { directed: true as const } : {}),
      });
      // Only call keys and a room's file keys may go to part of a conversation: anything else
      // would reach one member as if all had seen it. Refused here (a delivery handler — the
      // compliance writer — still gets it, to record it).
      const refused = directed && !this.deliveryHandler && !mayTravelDirected(m);
      complete = () => {
        this.remember(header.packetId);
        const secret = this.prekeySecrets.get(opened.prekeyId);
        if (secret?.kind === "one-time") {
          this.prekeySecrets.delete(opened.prekeyId);
          // A failed refill (server unreachable) is retried at the next packet that uses a prekey.
          this.refillPrekeys().catch(() => undefined);
        }
        if (refused) return this.emit({ type: "error", code: "directed_refused", message: `a type ${m.type} message was addressed to part of the conversation only: ignored`, seq, packetId: m.packetId });
        this.apply(m);
        this.emit({ type: "message", message: m });
      };
    } catch (e) {
      // A replay is reported only after the header verified, so its packet id is genuine.
      complete = () => {
        if (e instanceof PacketError && e.code === "replay") this.emit({ type: "duplicate", packetId: parsePacketEnvelope(packet).header.packetId, seq });
        else this.emit({ type: "error", code: e instanceof PacketError ? e.code : "internal", message: (e as Error).message, seq });
      };
    }
    const advance = () => {
      complete();
      this.state.cursor = Math.max(this.state.cursor, seq);
      this.scheduleAck();
    };
    if (!this.deliveryHandler) return advance();
    // With a handler, several messages are handed over at once (a writer batches their
    // fsyncs) and each frame completes in order once its own handler and all before it resolved.
    const handled = message ? this.deliveryHandler(message).then(() => null, (e: unknown) => (e instanceof Error ? e : new Error(String(e)))) : Promise.resolve(null);
    this.handling++;
    this.finalizing = this.finalizing.then(async () => {
      const failure = await handled;
      this.handling--;
      queueMicrotask(() => this.maybeResume());
      if (gen <= this.skipThroughGen) return; // an earlier frame failed: this one comes again
      if (!failure) return advance();
      // Not consumed: keep the cursor and the prekey, and take everything after it again.
      this.skipThroughGen = gen;
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, 2000);
      if (this.ws && this.connGen === gen) this.throttle(this.ws, "the delivery handler failed: resuming from the cursor");
      this.emit({ type: "error", code: "handler_failed", message: failure.message, seq, packetId: message?.packetId });
    });
    if (this.handling >= this.maxHandling) await this.finalizing;
  }

  private remember(packetId: string) {
    this.seen.add(packetId);
    if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.values().next().value as string);
  }

  private scheduleAck() {
    if (++this.unackedFrames >= ACK_EVERY) return this.flushAck();
    this.ackTimer ??= unref(setTimeout(() => this.flushAck(), ACK_DELAY_MS));
  }

  private flushAck() {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.unackedFrames = 0;
    if (this.state.cursor > this.ackedCursor && this.ws?.readyState === WebSocket.OPEN) {
      this.ackedCursor = this.state.cursor;
      this.ws.send(JSON.stringify({ t: "ack", seq: this.state.cursor }));
    }
  }

  /** Keeps the local message view: edits, deletions/recalls, expiration. */
  private apply(m: ReceivedMessage) {
    const c = m.content as Record<string, unknown> | null;
    if (m.type === MessageType.edit && c && typeof c.originalmessageid === "string") {
      const original = this.store.get(c.originalmessageid);
      if (original && original.senderUserId === m.senderUserId) {
        original.content = c.type === "location" ? c.location : { text: c.text, links: typeof c.text === "string" ? extractLinks(c.text) : [] };
        original.edited = true;
      }
      return;
    }
    if (m.type === MessageType.deleteOrRecall && c && typeof c.msgid === "string") {
      const original = this.store.get(c.msgid);
      if (original && (c.isrecall !== true || original.senderUserId === m.senderUserId)) this.store.delete(c.msgid);
      return;
    }
    if (m.type >= MessageType.createRoom && m.type <= MessageType.deleteRoom) {
      // Membership or settings changed: the next send reads them again.
      this.forgetConversation(m.conversationId);
      return;
    }
    if (m.type === MessageType.text || m.type === MessageType.location || m.type === MessageType.file || m.type === MessageType.verification) {
      this.store.set(m.packetId, { ...m });
      const ttl = m.ttl === 0 ? (this.policy?.maxExpirationSeconds ?? 0) : m.ttl;
      const due = m.sentAt + ttl * 1000 - Date.now();
      if (ttl > 0 && due < 2 ** 31 - 1) {
        unref(
          setTimeout(() => {
            if (this.store.delete(m.packetId)) this.emit({ type: "expired", packetId: m.packetId });
          }, Math.max(0, due)),
        );
      }
    }
  }

  /** The conversation as this device sees it now (edits applied, deleted and burned messages gone). */
  messages(conversationId: string): (ReceivedMessage & { edited?: boolean })[] {
    return [...this.store.values()].filter((m) => m.conversationId === conversationId).sort((a, b) => a.seq - b.seq);
  }

  // ---------------------------------------------------------------- directory and keys

  async lookupUsers(by: { userIds?: string[]; usernames?: string[] }): Promise<DirectoryEntry[]> {
    const { users } = await this.api.call<{ users: { userId: string; username: string; rootKey: { suite: SuiteId; publicKey: string } | null; devices: { deviceId: string; certificate: string }[] }[] }>(
      "POST",
      "/api/client/v1/users/lookup",
      by,
    );
    const now = Date.now();
    return users.map((u) => {
      const entry: DirectoryEntry = {
        userId: u.userId,
        username: u.username,
        rootKey: u.rootKey ? { suite: u.rootKey.suite, publicKey: fromBase64url(u.rootKey.publicKey) } : null,
        devices: u.devices.map((d) => ({ deviceId: d.deviceId, certificate: fromBase64url(d.certificate) })),
        fetchedAt: now,
      };
      this.directory.set(u.userId, entry);
      return entry;
    });
  }

  private async usersById(ids: string[], maxAgeMs = DIRECTORY_TTL_MS): Promise<Map<string, DirectoryEntry>> {
    const now = Date.now();
    const stale = ids.filter((id) => {
      const e = this.directory.get(id);
      return !e || now - e.fetchedAt > maxAgeMs;
    });
    for (let i = 0; i < stale.length; i += 1000) await this.lookupUsers({ userIds: stale.slice(i, i + 1000) });
    const out = new Map<string, DirectoryEntry>();
    for (const id of ids) {
      const e = this.directory.get(id);
      if (e) out.set(id, e);
    }
    return out;
  }

  private async senderKeys(header: PacketHeader) {
    let entry = (await this.usersById([header.senderUserId], Infinity)).get(header.senderUserId);
    let dev = entry?.devices.find((d) => d.deviceId === header.senderDeviceId);
    if (!dev) {
      entry = (await this.usersById([header.senderUserId], 0)).get(header.senderUserId);
      dev = entry?.devices.find((d) => d.deviceId === header.senderDeviceId);
    }
    if (!entry?.rootKey || !dev) throw new PacketError("device_not_signed", `unknown sender device ${header.senderDeviceId}`);
    const verified = this.state.verified[header.senderUserId];
    return { rootPublicKey: entry.rootKey.publicKey, deviceCert: dev.certificate, ...(verified ? { verifiedRootFingerprint: fromBase64url(verified) } : {}) };
  }

  /** The 60-digit number two users compare (in person or by a verification message) to verify each other. */
  async safetyNumber(userId: string): Promise<string> {
    const other = (await this.usersById([userId], 0)).get(userId);
    if (!other?.rootKey) throw new OutpostError("not_found", `user ${userId} has no registered keys`);
    return safetyNumber({ userId: this.userId, rootPublicKey: this.root.publicBytes }, { userId, rootPublicKey: other.rootKey.publicKey });
  }

  /** Marks a user's current root key as verified: later packets signed under another root are dropped. */
  async markVerified(userId: string): Promise<void> {
    const other = (await this.usersById([userId], 0)).get(userId);
    if (!other?.rootKey) throw new OutpostError("not_found", `user ${userId} has no registered keys`);
    this.state.verified[userId] = toBase64url(await rootFingerprint(other.rootKey.publicKey));
  }

  async refillPrekeys(force = false): Promise<number> {
    const oneTime = [...this.prekeySecrets.values()].filter((p) => p.kind === "one-time").length;
    if (this.refilling || (!force && oneTime >= PREKEY_LOW_WATER)) return oneTime;
    this.refilling = true;
    try {
      const { published, secrets } = await createPrekeys({ device: this.device, count: PREKEY_REFILL, lastResort: false });
      for (const s of secrets) this.prekeySecrets.set(s.id, { kind: s.kind, keyPair: s.keyPair });
      if (this.beforePrekeyUpload) await this.beforePrekeyUpload(this.exportState());
      const r = await this.api.call<{ oneTime: number }>("POST", "/api/client/v1/prekeys", { prekeys: published.map(toBase64url) });
      return r.oneTime;
    } finally {
      this.refilling = false;
    }
  }

  /**
   * Creates a one-time code that lets a new device of this user take over its root key (10
   * minutes). With `history`, this device's conversations and messages travel too, sealed
   * under a second key from the same code (the archive is stored before the bundle, so a
   * code never points to a history still being uploaded).
   */
  async createSyncCode(opts: { history?: SyncHistory } = {}): Promise<string> {
    const { code, lookupHash, bundle } = await newSyncBundle(this.root);
    if (opts.history) await putSyncHistory(this.api, lookupHash, await sealSyncHistory(code, this.userId, opts.history));
    await this.api.call("POST", "/api/client/v1/sync-bundles", { lookupHash, bundle: toBase64url(bundle) });
    return code;
  }

  /** On a device registered with a sync code: the history the other device left with it (once), or null. */
  takeSyncHistory(code: string): Promise<SyncHistory | null> {
    return takeSyncHistory(this.api, code, this.userId);
  }

  // ---------------------------------------------------------------- conversations

  async conversation(id: string, maxAgeMs = DIRECTORY_TTL_MS): Promise<ConversationView> {
    const cached = this.conversations.get(id);
    if (cached && Date.now() - cached.fetchedAt <= maxAgeMs) return cached.view;
    const view = await this.api.call<ConversationView>("GET", `/api/client/v1/conversations/${id}`);
    this.conversations.set(id, { view, fetchedAt: Date.now() });
    return view;
  }

  private cache(view: ConversationView) {
    this.conversations.set(view.id, { view, fetchedAt: Date.now() });
    return view;
  }

  async listConversations(opts: { limit?: number; after?: string } = {}) {
    const q = new URLSearchParams({ limit: String(opts.limit ?? 100), ...(opts.after ? { after: opts.after } : {}) });
    return this.api.call<{ items: { id: string; kind: string; title: string }[]; next: string | null }>("GET", `/api/client/v1/conversations?${q}`);
  }

  /** The direct conversation with a user (by id, or by username). */
  async openDirect(user: { userId: string } | { username: string }): Promise<ConversationView> {
    const userId = "userId" in user ? user.userId : (await this.lookupUsers({ usernames: [user.username] }))[0]?.userId;
    if (!userId) throw new OutpostError("not_found", `no user ${"username" in user ? user.username : ""} in this network`);
    return this.cache(await this.api.call<ConversationView>("POST", "/api/client/v1/conversations/direct", { userId }));
  }

  async createGroup(memberIds: string[], opts: { title?: string; ttl?: number; bor?: number } = {}) {
    const view = this.cache(await this.api.call<ConversationView>("POST", "/api/client/v1/conversations", { kind: "group", memberIds, ...opts }));
    await this.send(view.id, MessageType.createRoom, { control: { kind: "group", title: view.title, members: view.members.map((m) => m.userId) } });
    return view;
  }

  async createRoom(input: { title: string; description?: string; memberIds: string[]; moderatorIds?: string[]; ttl?: number; bor?: number }) {
    const view = this.cache(await this.api.call<ConversationView>("POST", "/api/client/v1/conversations", { kind: "room", ...input }));
    await this.send(view.id, MessageType.createRoom, { control: { kind: "room", title: view.title, description: view.description, members: view.members.map((m) => m.userId), masters: view.members.filter((m) => m.role === "moderator").map((m) => m.userId) } });
    return view;
  }

  /** Changes settings; the change also travels to members as an encrypted control message (4004). */
  async updateConversation(id: string, patch: { title?: string; description?: string; ttl?: number; bor?: number }) {
    const view = this.cache(await this.api.call<ConversationView>("PATCH", `/api/client/v1/conversations/${id}`, patch));
    const changemask = (patch.ttl !== undefined ? 2 : 0) | (patch.title !== undefined ? 4 : 0) | (patch.description !== undefined ? 8 : 0) | (patch.bor !== undefined ? 32 : 0);
    await this.send(id, MessageType.roomParameters, { control: { changemask, ...patch } });
    return view;
  }

  /** Adds/removes members (4002). Removed members get the notice before they lose access. */
  async changeMembers(id: string, change: { add?: string[]; remove?: string[]; moderators?: string[] }) {
    const control = { control: { addedusers: change.add ?? [], deletedusers: change.remove ?? [], masters: change.moderators ?? [] } };
    // Check the right first, so nobody receives a notice of a change the server refuses.
    const before = await this.conversation(id, 0);
    const mine = before.members.find((m) => m.userId === this.userId);
    if (before.kind === "room" && mine?.role !== "moderator") throw new OutpostError("forbidden", "only a moderator of this room can change its members");
    if (change.remove?.length) await this.send(id, MessageType.roomMembers, control);
    const view = this.cache(await this.api.call<ConversationView>("POST", `/api/client/v1/conversations/${id}/members`, change));
    if (!change.remove?.length) await this.send(id, MessageType.roomMembers, control);
    const added = (change.add ?? []).filter((u) => u !== this.userId);
    if (view.kind === "room" && added.length) for (const hook of this.membersAddedHooks) await hook(id, added).catch(() => undefined);
    return view;
  }

  async leave(id: string) {
    await this.send(id, MessageType.leaveRoom, { control: { userId: this.userId } });
    await this.api.call("POST", `/api/client/v1/conversations/${id}/leave`);
    this.conversations.delete(id);
  }

  async deleteRoom(id: string) {
    const view = await this.conversation(id, 0);
    if (view.members.find((m) => m.userId === this.userId)?.role !== "moderator") throw new OutpostError("forbidden", "only a moderator of this room can delete it");
    await this.send(id, MessageType.deleteRoom, { control: {} });
    await this.api.call("DELETE", `/api/client/v1/conversations/${id}`);
    this.conversations.delete(id);
  }

  // ---------------------------------------------------------------- sending

  private async recipients(conversationId: string, ownOnly: boolean, only?: string[]): Promise<Recipient[]> {
    const conv = await this.conversation(conversationId);
    const userIds = ownOnly ? [this.userId] : conv.members.map((m) => m.userId);
    const users = await this.usersById(userIds);
    const targets: { deviceId: string; certificate: Uint8Array; root: Uint8Array }[] = [];
    for (const u of users.values()) {
      if (!u.rootKey) continue;
      for (const d of u.devices) if (d.deviceId !== this.deviceId && (!only || only.includes(d.deviceId))) targets.push({ deviceId: d.deviceId, certificate: d.certificate, root: u.rootKey.publicKey });
    }
    const compliance = this.policy?.complianceDeviceId;
    if (compliance && !targets.some((t) => t.deviceId === compliance)) {
      const owner = (await this.findDeviceOwner(compliance)) ?? undefined;
      const dev = owner?.devices.find((d) => d.deviceId === compliance);
      if (!owner?.rootKey || !dev) throw new OutpostError("compliance_unavailable", "this network retains messages but its compliance device is not in the directory");
      targets.push({ deviceId: compliance, certificate: dev.certificate, root: owner.rootKey.publicKey });
    }
    await this.claimFor(targets.map((t) => t.deviceId));
    const out: Recipient[] = [];
    for (const t of targets) {
      const prekey = this.claimed.get(t.deviceId)?.shift() ?? this.lastResort.get(t.deviceId);
      if (prekey) out.push({ deviceId: t.deviceId, deviceCert: t.certificate, prekey, rootPublicKey: t.root });
    }
    return out;
  }

  private async findDeviceOwner(deviceId: string): Promise<DirectoryEntry | undefined> {
    if (this.complianceOwner?.devices.some((d) => d.deviceId === deviceId)) return this.complianceOwner;
    for (const e of this.directory.values()) if (e.devices.some((d) => d.deviceId === deviceId)) return (this.complianceOwner = e);
    // The compliance device belongs to a bot user; the directory is searched page by page for it.
    let after: string | undefined;
    for (;;) {
      const q = new URLSearchParams({ limit: "200", ...(after ? { after } : {}) });
      const page = await this.api.call<{ items: { userId: string }[]; next: string | null }>("GET", `/api/client/v1/users?${q}`);
      const found = await this.lookupUsers({ userIds: page.items.map((i) => i.userId) });
      const owner = found.find((e) => e.devices.some((d) => d.deviceId === deviceId));
      if (owner) return (this.complianceOwner = owner);
      if (!page.next) return undefined;
      after = page.next;
    }
  }

  private async claimFor(deviceIds: string[]) {
    const need = deviceIds.filter((id) => !(this.claimed.get(id)?.length) && !this.lastResort.has(id));
    for (let i = 0; i < need.length; i += 1000) {
      const { devices } = await this.api.call<{ devices: { deviceId: string; prekeys: string[] }[] }>("POST", "/api/client/v1/prekeys/claim", {
        devices: need.slice(i, i + 1000).map((deviceId) => ({ deviceId, count: this.prekeyBatch })),
      });
      for (const d of devices) {
        const list = d.prekeys.map(fromBase64url);
        const oneTime = list.filter((p) => decodePrekey(p).kind === "one-time");
        const last = list.find((p) => decodePrekey(p).kind === "last-resort");
        this.claimed.set(d.deviceId, [...(this.claimed.get(d.deviceId) ?? []), ...oneTime]);
        if (last) this.lastResort.set(d.deviceId, last);
      }
    }
  }

  /** Seals a packet for every recipient device without sending it (the relay-facing half of send). */
  async seal(conversationId: string, type: MessageTypeCode, content: unknown, opts: SendOptions = {}): Promise<{ packet: Uint8Array; packetId: string }> {
    const max = this.policy?.maxExpirationSeconds ?? 0;
    const ttl = opts.ttl ? (max ? Math.min(opts.ttl, max) : opts.ttl) : 0;
    const recipients = await this.recipients(conversationId, opts.ownDevicesOnly === true, opts.devices);
    if (recipients.length === 0) {
      // Nobody else to deliver to (a conversation with only this device): nothing to send.
      throw new OutpostError("no_recipients", "no other device to deliver this message to");
    }
    return sealPacket({
      sender: { ...this.device, rootPublicKey: this.root.publicBytes },
      conversationId,
      payload: { type, content },
      ttl,
      bor: opts.bor ?? 0,
      recipients,
    });
  }

  /** Sends sealed bytes and resolves once the relay has durably stored them. */
  sendPacket(packetId: string, packet: Uint8Array): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      this.pending.set(packetId, { bytes: packet, resolve, reject });
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(packet as Uint8Array<ArrayBuffer>);
      // Otherwise it goes out when the connection is (re)established.
    });
  }

  async send(conversationId: string, type: MessageTypeCode, content: unknown, opts: SendOptions = {}): Promise<SendResult> {
    try {
      const { packet, packetId } = await this.seal(conversationId, type, content, opts);
      return await this.sendPacket(packetId, packet);
    } catch (e) {
      if (!(e instanceof OutpostError)) throw e;
      if (e.code === "unknown_recipient" || e.code === "missing_recipients") {
        // Our view of the members or their devices was stale (someone joined or left, a device
        // was added or reset), or the compliance device was removed: refresh and seal once more.
        this.forgetConversation(conversationId);
        await this.refreshPolicy();
      } else if (e.code === "compliance_wrap_missing" || e.code === "compliance_unavailable") {
        // Retention was turned on (or off) for the network since our policy was fetched.
        await this.refreshPolicy();
      } else throw e;
      const again = await this.seal(conversationId, type, content, opts);
      return this.sendPacket(again.packetId, again.packet);
    }
  }

  /** Fetches the security group's and network's current rules (the compliance device among them). */
  async refreshPolicy(): Promise<ClientPolicy> {
    const { policy } = await this.api.call<{ policy: ClientPolicy }>("GET", "/api/client/v1/me");
    this.complianceOwner = undefined;
    return (this.policy = policy);
  }

  private forgetConversation(conversationId: string) {
    const view = this.conversations.get(conversationId)?.view;
    for (const m of view?.members ?? []) this.directory.delete(m.userId);
    this.conversations.delete(conversationId);
  }

  sendText(conversationId: string, text: string, opts?: SendOptions) {
    return this.send(conversationId, MessageType.text, { text, links: extractLinks(text) }, opts);
  }

  edit(conversationId: string, originalPacketId: string, text: string) {
    return this.send(conversationId, MessageType.edit, { type: "text", originalmessageid: originalPacketId, text });
  }

  /** Deletes a message for this user's devices, or (recall) for everyone. */
  deleteMessage(conversationId: string, packetId: string, opts: { recall: boolean }) {
    return this.send(conversationId, MessageType.deleteOrRecall, { msgid: packetId, isrecall: opts.recall }, { ownDevicesOnly: !opts.recall });
  }

  star(conversationId: string, packetId: string, starred = true) {
    return this.send(conversationId, MessageType.star, { attributes: [{ msgid: packetId, isstarred: starred }] }, { ownDevicesOnly: true });
  }

  pinConversation(conversationId: string, pinned = true) {
    return this.send(conversationId, MessageType.pin, { pinned }, { ownDevicesOnly: true });
  }

  sendLocation(conversationId: string, location: LocationContent, opts?: SendOptions) {
    if (this.policy && !this.policy.locationSharing) throw new OutpostError("forbidden", "location sharing is turned off for your security group");
    return this.send(conversationId, MessageType.location, location, opts);
  }

  /** Live location: each update edits the original location message. */
  updateLiveLocation(conversationId: string, originalPacketId: string, location: LocationContent) {
    return this.send(conversationId, MessageType.edit, { type: "location", originalmessageid: originalPacketId, location: { ...location, live: true } });
  }

  sendVerification(conversationId: string, msgtype: 1 | 2 | 3 | 4 | 5, fingerprint?: string) {
    return this.send(conversationId, MessageType.verification, { keyverify: { msgtype, ...(fingerprint ? { fingerprint } : {}) } });
  }

  /** Sends one of the security group's quick responses by its index. */
  sendQuickResponse(conversationId: string, index: number) {
    const text = this.policy?.quickResponses[index];
    if (text === undefined) throw new OutpostError("not_found", `no quick response ${index} in your security group`);
    return this.sendText(conversationId, text);
  }

  // ---------------------------------------------------------------- ephemeral signals

  /** Marks messages read: starts their burn-on-read clocks and, in direct messages where allowed, sends a receipt. */
  markRead(conversationId: string, packetIds: string[]) {
    for (const id of packetIds) {
      const m = this.store.get(id);
      if (m && m.readAt === undefined) {
        m.readAt = Date.now();
        if (m.bor > 0) {
          unref(
            setTimeout(() => {
              if (this.store.delete(id)) this.emit({ type: "burned", packetId: id });
            }, m.bor * 1000),
          );
        }
      }
    }
    const conv = this.conversations.get(conversationId)?.view;
    if (conv?.kind === "direct" && this.policy?.readReceipts) this.control({ t: "receipt", c: conversationId, ids: packetIds });
  }

  typing(conversationId: string) {
    this.control({ t: "typing", c: conversationId });
  }

  setPresence(status: "available" | "busy" | "away") {
    if (this.policy && !this.policy.presence) throw new OutpostError("forbidden", "presence is turned off for your security group");
    this.control({ t: "presence", status });
  }

  /** Sends a raw control frame (receipts, typing, presence); errors come back as "error" events. */
  control(frame: Record<string, unknown>) {
    if (this.ws?.readyState !== WebSocket.OPEN) throw new OutpostError("not_connected", "connect() first");
    this.ws.send(JSON.stringify(frame));
  }
}

/** What may reach only part of a conversation: call messages (keys for a call's devices) and a room's file keys. */
function mayTravelDirected(m: ReceivedMessage): boolean {
  if (m.type === MessageType.call) return true;
  return m.type === MessageType.roomParameters && (m.content as { changemask?: unknown } | null)?.changemask === 64;
}

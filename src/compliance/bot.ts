// The compliance writer as a client: an SDK device (the network's compliance device) that
// opens every packet of its network, maps it to a retention record and acknowledges the
// relay cursor only once `ComplianceWriter.accept()` resolved (line fsynced).
import { mkdirSync, openSync, fsyncSync, closeSync, readFileSync, renameSync, writeFileSync, chmodSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { OutpostClient, type DeviceState } from "../client/client.ts";
import type { ReceivedMessage } from "../client/messages.ts";
import { files, fileContentOf, type FileContent } from "../client/files.ts";
import { MessageType } from "../crypto/payload.ts";
import { fromBase64url, toHex } from "../crypto/bytes.ts";
import { ComplianceRecordError, type AttachmentData, type ComplianceRecord } from "./format.ts";
import { ComplianceWriter, type ComplianceWriterOptions, type ComplianceWriterStatus } from "./writer.ts";

/** What the server says about one delivered packet (GET /api/client/v1/compliance/deliveries). */
export interface DeliveryMeta {
  seq: number;
  packetId: string;
  receivedAtMs: number;
  ttlSeconds: number;
  sender: { userId: string; username: string; type: "normal" | "guest"; linkPreviews: boolean };
  conversation: { id: string; kind: "direct" | "group" | "room"; otherMember: string | null };
}

export interface ComplianceBotStatus extends ComplianceWriterStatus {
  connected: boolean;
  cursor: number;
  /** Packets that can never become a line (schema refused, or could not be opened); logged and passed. */
  rejected: number;
}

export interface ComplianceBotOptions {
  statePath: string;
  writer: ComplianceWriterOptions;
  logger?: Logger | undefined;
  /** Service URL override (the state's configuration otherwise). */
  serverUrl?: string | undefined;
  /** Frames held in memory before the client stops reading (memory stays flat while the writer fails). */
  maxQueuedFrames?: number;
}

/** Reads a device state file (written 0600 by saveBotState). */
export function loadBotState(path: string): DeviceState {
  const state = JSON.parse(readFileSync(path, "utf8")) as DeviceState;
  if (state.version !== 1 || typeof state.deviceId !== "string") throw new Error(`${path} is not an Outpost device state file`);
  return state;
}

/**
 * Atomically replaces the state file (mode 0600, fsynced, renamed). The replay list is left
 * out on purpose: the writer de-duplicates by message id, and a packet remembered as seen but
 * not yet retained when the process died must open again when it is delivered again.
 */
export function saveBotState(path: string, state: DeviceState): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...state, seen: [] }), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  const fd = openSync(tmp, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * Where the decrypted bytes of a file message come from: the file's encrypted chunks,
 * downloaded and decrypted one at a time (the key travels in the message), so a large
 * attachment never sits in memory whole. A payload that is not a file reference (older
 * senders, scripted tests) may carry its bytes inline as base64url `data`.
 */
export function fileAttachmentSource(client: OutpostClient, content: Record<string, unknown>): AttachmentData {
  let file: FileContent;
  try {
    file = fileContentOf(content);
  } catch {
    const data = content.data;
    return typeof data === "string" ? new Uint8Array(Buffer.from(data, "base64url")) : new Uint8Array(0);
  }
  return () => chunksOf((write) => files(client).receive(file, write));
}

/** Turns a push-style reader (a callback per chunk, awaited) into a pull-style async iterable. */
async function* chunksOf(run: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>): AsyncIterable<Uint8Array> {
  let ready: ((chunk: Uint8Array | null) => void) | undefined;
  let taken: (() => void) | undefined;
  let failure: unknown;
  let next = new Promise<Uint8Array | null>((r) => (ready = r));
  const done = run(async (chunk) => {
    const wasTaken = new Promise<void>((r) => (taken = r));
    ready!(chunk);
    await wasTaken;
  }).then(
    () => ready!(null),
    (e) => {
      failure = e;
      ready!(null);
    },
  );
  for (;;) {
    const chunk = await next;
    if (chunk === null) break;
    next = new Promise((r) => (ready = r));
    yield chunk;
    taken!();
  }
  await done;
  if (failure) throw failure;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

export class ComplianceBot {
  private rejected = 0;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private metaCache = new Map<number, DeliveryMeta>();
  private metaFetch: Promise<void> | undefined;
  private metaFetchFrom = 0;
  /** Settles when the previous message was handed to the writer (keeps accept() in delivery order). */
  private order: Promise<void> = Promise.resolve();
  private usernames = new Map<string, string>();
  private closed = false;
  private readonly log: Logger | undefined;

  private constructor(
    readonly client: OutpostClient,
    readonly writer: ComplianceWriter,
    private readonly opts: ComplianceBotOptions,
  ) {
    this.log = opts.logger?.child({ component: "compliance-bot", device: client.deviceId });
  }

  /** Opens the writer, restores the device from its state file and connects to the relay. */
  static async start(opts: ComplianceBotOptions): Promise<ComplianceBot> {
    const writer = await ComplianceWriter.open(opts.writer, opts.logger ? { logger: opts.logger } : {});
    try {
      const state = loadBotState(opts.statePath);
      if (opts.serverUrl) state.config = { ...state.config, serviceUrl: opts.serverUrl };
      const client = await OutpostClient.restore(state);
      const bot = new ComplianceBot(client, writer, opts);
      await bot.begin();
      return bot;
    } catch (e) {
      await writer.close();
      throw e;
    }
  }

  private async begin() {
    const c = this.client;
    c.maxQueuedFrames = this.opts.maxQueuedFrames ?? 1024;
    c.prekeyBatch = 4;
    // New prekey secrets are on disk before anyone can encrypt to them.
    c.beforePrekeyUpload = async (state) => saveBotState(this.opts.statePath, state);
    c.deliveryHandler = (m) => this.retain(m);
    c.on("error", (e) => {
      if (e.code === "handler_failed") return;
      // A packet that cannot be opened can never be retained: say so loudly (no content).
      this.rejected++;
      this.log?.error({ code: e.code, seq: e.seq, packetId: e.packetId, reason: e.message }, "compliance bot could not open a packet; it cannot be retained");
    });
    c.on("disconnected", (e) => this.log?.debug({ code: e.code }, "compliance bot disconnected"));
    await c.connect();
    this.log?.info({ cursor: c.cursor }, "compliance bot connected");
  }

  status(): ComplianceBotStatus {
    return { ...this.writer.status(), connected: this.client.connected, cursor: this.client.cursor, rejected: this.rejected };
  }

  pause() {
    this.writer.pause();
  }

  resume() {
    this.writer.resume();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    // Closing the writer rejects what waits: those packets stay unacknowledged on the relay.
    const closing = this.writer.close();
    await this.client.close();
    await closing;
    saveBotState(this.opts.statePath, this.client.exportState());
  }

  /**
   * The delivery handler: resolves only once the record is durable (or can never be). Several
   * run at once so the writer can share fsyncs, but records reach accept() in delivery order:
   * each waits for the one before it to be handed over (their lookups may finish out of order).
   */
  private async retain(m: ReceivedMessage): Promise<void> {
    if (this.closed) throw new Error("the compliance bot is closing");
    const recordP = this.metaFor(m).then((meta) => this.toRecord(m, meta));
    recordP.catch(() => undefined);
    const turn = this.order;
    let handOver!: () => void;
    this.order = new Promise<void>((r) => (handOver = r));
    let accepted: Promise<unknown>;
    try {
      await turn;
      accepted = this.writer.accept(await recordP);
    } finally {
      handOver();
    }
    try {
      await accepted;
    } catch (e) {
      if (!(e instanceof ComplianceRecordError)) throw e;
      // Waiting would stall retention for the whole network behind one malformed message.
      this.rejected++;
      this.log?.error({ packetId: m.packetId, seq: m.seq, type: m.type, issues: e.issues.map((i) => i.path) }, "compliance record refused by the format; the packet is passed without a line");
    }
    this.scheduleSave();
  }

  private scheduleSave() {
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined;
      if (!this.closed) saveBotState(this.opts.statePath, this.client.exportState());
    }, 1000);
    (this.saveTimer as { unref?: () => void }).unref?.();
  }

  /** Server receive time and sender facts, fetched for a run of queued packets at once (one request in flight). */
  private async metaFor(m: ReceivedMessage): Promise<DeliveryMeta | undefined> {
    for (let attempt = 0; attempt < 6; attempt++) {
      // A fetch that started before this packet was committed cannot hold it: ask again.
      if (attempt >= 2) await new Promise((r) => setTimeout(r, 10 * attempt));
      const meta = this.metaCache.get(m.seq);
      if (meta) {
        this.metaCache.delete(m.seq);
        return meta.packetId === m.packetId ? meta : undefined;
      }
      if (!this.metaFetch || this.metaFetchFrom > m.seq) {
        const from = m.seq;
        this.metaFetchFrom = from;
        this.metaFetch = this.client.api.call<{ items: DeliveryMeta[] }>("GET", `/api/client/v1/compliance/deliveries?fromSeq=${from}&limit=1000`).then((r) => {
          // Bounded: older entries belong to packets already handled (or gone).
          if (this.metaCache.size > 4000) this.metaCache.clear();
          for (const item of r.items) this.metaCache.set(item.seq, item);
        });
        this.metaFetch.finally(() => {
          if (this.metaFetchFrom === from) this.metaFetch = undefined;
        }).catch(() => undefined);
      }
      await this.metaFetch;
    }
    this.log?.warn({ seq: m.seq, packetId: m.packetId }, "no server facts for a delivered packet (expired?): the line uses the sender's clock");
    return undefined;
  }

  private async username(userId: string): Promise<string> {
    const known = this.usernames.get(userId);
    if (known) return known;
    const [entry] = await this.client.lookupUsers({ userIds: [userId] });
    const name = entry?.username ?? userId;
    if (this.usernames.size > 100_000) this.usernames.clear();
    this.usernames.set(userId, name);
    return name;
  }

  private async usernamesOf(ids: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const id of ids) out.push(await this.username(id));
    return out;
  }

  private async toRecord(m: ReceivedMessage, meta: DeliveryMeta | undefined): Promise<ComplianceRecord> {
    // Without server facts (the packet expired between delivery and lookup) the header's send time stands in.
    const sender = meta?.sender.username ?? (await this.username(m.senderUserId));
    const base = {
      messageId: m.packetId,
      receivedAtUs: (meta?.receivedAtMs ?? m.sentAt) * 1000,
      sender,
      senderType: meta?.sender.type ?? ("normal" as const),
      conversationId: m.conversationId,
      ttl: meta?.ttlSeconds ?? m.ttl,
      bor: m.bor,
      linkPreviews: meta?.sender.linkPreviews ?? false,
    };
    const direct = meta ? meta.conversation.kind === "direct" : /^[0-9a-f]{64}$/.test(m.conversationId);
    const receiverId = meta?.conversation.otherMember;
    const withReceiver = direct ? { ...base, receiver: receiverId ? await this.username(receiverId) : sender } : base;
    const c = (typeof m.content === "object" && m.content !== null ? m.content : {}) as Record<string, unknown>;
    const control = (typeof c.control === "object" && c.control !== null ? c.control : {}) as Record<string, unknown>;
    const rec = (type: number, content: unknown) => ({ ...withReceiver, type, content }) as ComplianceRecord;
    switch (m.type) {
      case MessageType.text:
        // Links are taken from the text by the format (the SDK's own list keeps sentence
        // punctuation after a URL, so it is not copied).
        return rec(m.type, { text: str(c.text) ?? "" });
      case MessageType.verification: {
        const kv = (c.keyverify ?? {}) as Record<string, unknown>;
        return rec(m.type, { kind: num(kv.msgtype) ?? 0, ...(str(kv.fingerprint) ? { verifiedKey: str(kv.fingerprint) } : {}) });
      }
      case MessageType.location:
        return rec(m.type, { latitude: num(c.latitude), longitude: num(c.longitude) });
      case MessageType.edit: {
        if (c.type === "location") {
          const loc = (c.location ?? {}) as Record<string, unknown>;
          return rec(m.type, { type: "location", originalMessageId: str(c.originalmessageid), latitude: num(loc.latitude), longitude: num(loc.longitude), ...(num(loc.shareExpiresAtMs) !== undefined ? { shareExpiresAtMs: num(loc.shareExpiresAtMs) } : {}) });
        }
        return rec(m.type, { type: "text", originalMessageId: str(c.originalmessageid), text: str(c.text) ?? "" });
      }
      case MessageType.deleteOrRecall:
        return rec(m.type, { isRecall: c.isrecall === true, messageId: str(c.msgid) });
      case MessageType.star:
        return rec(m.type, { attributes: (Array.isArray(c.attributes) ? c.attributes : []).map((a: { msgid?: unknown; isstarred?: unknown }) => ({ isStarred: a?.isstarred === true, messageId: str(a?.msgid) })) });
      case MessageType.pin:
        return rec(m.type, { pinned: c.pinned === true });
      case MessageType.createRoom:
        return rec(m.type, {
          ...(str(control.title) !== undefined ? { title: str(control.title) } : {}),
          ...(str(control.description) !== undefined ? { description: str(control.description) } : {}),
          masters: await this.usernamesOf(strings(control.masters)),
          members: await this.usernamesOf(strings(control.members)),
          ...(num(control.ttl) !== undefined ? { ttl: num(control.ttl) } : {}),
          ...(num(control.bor) !== undefined ? { bor: num(control.bor) } : {}),
        });
      case MessageType.roomMembers:
        return rec(m.type, { addedUsers: await this.usernamesOf(strings(control.addedusers)), deletedUsers: await this.usernamesOf(strings(control.deletedusers)) });
      case MessageType.roomParameters: {
        // Settings changes carry their fields under `control`; a Files-area key (changemask 64,
        // src/client/room-keys.ts) carries them at the top level, with the first key in
        // `filevaultinfo` (the format has room for one: hand-overs of several keep the first).
        const p = c.control !== undefined ? control : c;
        const vault = (typeof p.filevaultinfo === "object" && p.filevaultinfo !== null ? p.filevaultinfo : undefined) as Record<string, unknown> | undefined;
        return rec(m.type, {
          changeMask: num(p.changemask),
          ...(str(p.title) !== undefined ? { title: str(p.title) } : {}),
          ...(str(p.description) !== undefined ? { description: str(p.description) } : {}),
          ...(num(p.ttl) !== undefined ? { ttl: num(p.ttl) } : {}),
          ...(num(p.bor) !== undefined ? { bor: num(p.bor) } : {}),
          ...(vault ? { fileVaultInfo: { fileHash: str(vault.sha256) ?? "", guid: str(vault.entryid) ?? str(vault.fileid) ?? "", key: keyHex(vault.key) } } : {}),
        });
      }
      case MessageType.file:
        return {
          ...withReceiver,
          type: MessageType.file,
          content: {
            fileName: str(c.name) ?? str(c.fileName) ?? str(c.filename) ?? "",
            fileId: str(c.fileid) ?? str(c.fileId) ?? str(c.guid) ?? "",
            ...(typeof c.isScreenshot === "boolean" ? { isScreenshot: c.isScreenshot } : {}),
            uploadedBy: sender,
            ...(num(c.uploadedAtMs) !== undefined ? { uploadedAtMs: num(c.uploadedAtMs) } : {}),
          },
          attachment: fileAttachmentSource(this.client, c),
        } as ComplianceRecord;
      case MessageType.call:
        return rec(m.type, c);
      default:
        // Leave, delete room, attributes sync: the common keys only.
        return rec(m.type, {});
    }
  }
}

/** A file key as the retention format writes keys (hex); "" when it is not a base64url key (the record is then refused and logged). */
function keyHex(key: unknown): string {
  if (typeof key !== "string" || !/^[A-Za-z0-9_-]+$/.test(key)) return "";
  try {
    return toHex(fromBase64url(key));
  } catch {
    return "";
  }
}

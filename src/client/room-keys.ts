// The keys of files in rooms' Files areas, kept per entry, and their exchange between members
// (isomorphic; the browser client imports this module on its own). A moderator adding members
// hands them the keys it holds; a device lacking keys asks the room (4015) and every member
// holding them answers its device, at most once per device and entry per interval. Keys travel
// in 4004 messages (changemask 64) directed to one member's devices; a received key is kept only
// if the room's Files list has that entry for that file, and a kept key is never replaced. A key
// from a plain member (not the user's own device, the entry's creator or a moderator) must
// also open the file's first chunk, so a hostile member cannot plant a wrong key on a new device.
import { decryptChunk, fromBase64url, toHex } from "../crypto/index.ts";
import { OutpostError } from "./api.ts";
import type { OutpostClient } from "./client.ts";
import { fileContentOf, files, type FileContent, type ReceiveOptions, type RoomFileEntry } from "./files.ts";
import { MessageType, type ReceivedMessage } from "./messages.ts";

/** A kept key: the file's content description and the room whose Files area holds the entry. */
export type RoomFileKey = FileContent & { roomid?: string };

/** Where keys live (memory by default; the browser keeps them in its encrypted vault). */
export interface RoomKeyStore {
  get(entryId: string): RoomFileKey | undefined;
  set(entryId: string, key: RoomFileKey): void;
  delete(entryId: string): void;
  entries(): Iterable<[string, RoomFileKey]>;
}

/** One entry's key as a 4004 message carries it. */
export interface FileVaultInfo extends FileContent {
  entryid: string;
}

/** Content of a 4015 message: the entries whose keys the sending device lacks. */
export interface RoomFileKeyRequest {
  entryids: string[];
}

export type RejectReason = "conflict" | "unknown_entry" | "mismatch" | "bad_key";

export type RoomKeyEvent =
  | { type: "key"; roomId: string; entryId: string; content: RoomFileKey }
  /** A received key was not kept: `conflict` = a different key is already kept, `unknown_entry` = the room has no such file entry, `mismatch` = the entry holds another file, `bad_key` = a plain member's key does not open the file. */
  | { type: "rejected"; roomId: string; entryId: string; senderUserId: string; reason: RejectReason }
  | { type: "answered"; roomId: string; deviceId: string; entryIds: string[] }
  | { type: "error"; roomId: string; error: unknown };

export interface RoomKeyOptions {
  store?: RoomKeyStore;
  /** An entry's key goes to the same device at most once per this interval (default 3 minutes). */
  answerIntervalMs?: number;
}

export const DEFAULT_ANSWER_INTERVAL_MS = 3 * 60_000;
/** Entry ids per request message and per server lookup (the lookup route's limit). */
export const MAX_REQUEST_ENTRIES = 200;
/** Content bytes per key message: far below the relay's 4 MiB packet limit (wraps add per device). */
const MAX_KEYS_JSON = 512 * 1024;
const ENTRY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The 4004 content for these keys. `filevaultinfo` holds the first (what readers of a single
 * key expect), `filevaultinfos` the further ones when there are several; `resent` marks keys
 * of entries that already existed (a hand-over or an answer), not a new file.
 */
export function fileVaultContent(list: FileVaultInfo[], resent: boolean) {
  return { changemask: 64, filevaultinfo: list[0], ...(list.length > 1 ? { filevaultinfos: list.slice(1) } : {}), ...(resent ? { resent: true } : {}) };
}

/** The well-formed keys of a 4004 changemask-64 content (malformed ones are left out). */
export function fileVaultInfosOf(content: unknown): FileVaultInfo[] {
  const c = content as { changemask?: unknown; filevaultinfo?: unknown; filevaultinfos?: unknown } | null;
  if (!c || c.changemask !== 64) return [];
  const raw: unknown[] = [c.filevaultinfo, ...(Array.isArray(c.filevaultinfos) ? c.filevaultinfos : [])];
  const out: FileVaultInfo[] = [];
  for (const r of raw) {
    const entryid = (r as { entryid?: unknown } | null)?.entryid;
    if (typeof entryid !== "string" || !ENTRY_ID.test(entryid)) continue;
    try {
      const { fileid, name, size, mimetype, key, chunksize, chunkhashes, sha256 } = fileContentOf(r);
      out.push({ entryid, fileid, name, size, ...(typeof mimetype === "string" ? { mimetype } : {}), key, chunksize, chunkhashes, sha256 });
    } catch {
      // not a key description
    }
  }
  return out;
}

/** Same file and same key (names may differ: entries are renamed). */
function sameKey(a: FileContent, b: FileContent): boolean {
  return a.fileid === b.fileid && a.key === b.key && a.size === b.size && a.chunksize === b.chunksize && a.sha256 === b.sha256 && a.chunkhashes.length === b.chunkhashes.length && a.chunkhashes.every((h, i) => h === b.chunkhashes[i]);
}

function content(key: RoomFileKey): FileContent {
  const { roomid: _room, ...rest } = key;
  return rest;
}

function memoryStore(): RoomKeyStore {
  const map = new Map<string, RoomFileKey>();
  return { get: (id) => map.get(id), set: (id, k) => void map.set(id, k), delete: (id) => void map.delete(id), entries: () => map.entries() };
}

export class RoomKeys {
  readonly store: RoomKeyStore;
  answerIntervalMs: number;
  /** When each (device, entry) was last answered. */
  private readonly answered = new Map<string, number>();
  private readonly listeners = new Set<(e: RoomKeyEvent) => void>();
  private enabled = false;
  private listening = false;

  constructor(
    readonly client: OutpostClient,
    opts: RoomKeyOptions = {},
  ) {
    this.store = opts.store ?? memoryStore();
    this.answerIntervalMs = opts.answerIntervalMs ?? DEFAULT_ANSWER_INTERVAL_MS;
  }

  /**
   * Turns the exchange on: keys of files this client saves are kept, members it adds to a room
   * get the keys, and (unless `listen` is false, for apps that pass messages to receive()
   * themselves) key messages and requests arriving are handled as they come.
   */
  enable(opts: { listen?: boolean } = {}): this {
    if (!this.enabled) {
      this.enabled = true;
      this.client.membersAddedHooks.push((roomId, userIds) => this.handOver(roomId, userIds));
      files(this.client).onRoomFileSaved = (roomId, entryId, c) => this.remember(roomId, entryId, c);
    }
    if (opts.listen !== false && !this.listening) {
      this.listening = true;
      this.client.on("message", (e) => void this.receive(e.message).catch((error) => this.emit({ type: "error", roomId: e.message.conversationId, error })));
    }
    return this;
  }

  on(fn: (e: RoomKeyEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: RoomKeyEvent) {
    for (const fn of this.listeners) fn(e);
  }

  /** The key of an entry, if this device holds it. */
  get(entryId: string): FileContent | undefined {
    const k = this.store.get(entryId);
    return k && content(k);
  }

  /** Keeps the key of a file this client put into the room itself (trusted: no check). */
  remember(roomId: string, entryId: string, c: FileContent) {
    const kept = this.store.get(entryId);
    if (kept && !sameKey(kept, c)) return;
    this.store.set(entryId, { ...content(c as RoomFileKey), roomid: roomId });
    this.emit({ type: "key", roomId, entryId, content: { ...c, roomid: roomId } });
  }

  /**
   * Downloads an entry with the key held for it. A key that does not fit the file (integrity
   * error) is forgotten, so the entry can be asked for again (requestKeys) and a good key kept.
   */
  async download(entryId: string, opts: ReceiveOptions = {}): Promise<Uint8Array> {
    const key = this.get(entryId);
    if (!key) throw new OutpostError("no_key", `this device holds no key for entry ${entryId}: ask the room's members (requestKeys)`);
    try {
      return await files(this.client).download(key, opts);
    } catch (e) {
      if (e instanceof OutpostError && e.code === "integrity" && this.store.get(entryId)?.key === key.key) this.store.delete(entryId);
      throw e;
    }
  }

  /** Resolves with the key once this device holds it (rejects after `timeoutMs`). */
  waitForKey(entryId: string, timeoutMs = 30_000): Promise<FileContent> {
    const have = this.get(entryId);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new OutpostError("timeout", `no member sent the key of entry ${entryId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on((e) => {
        if (e.type !== "key" || e.entryId !== entryId) return;
        clearTimeout(timer);
        off();
        resolve(content(e.content));
      });
    });
  }

  /**
   * Handles a received message if it concerns Files-area keys: a 4004 changemask 64 (keys, kept
   * after the checks; returns the entries newly kept) or a 4015 request (answered).
   */
  async receive(m: ReceivedMessage): Promise<{ entryId: string; content: FileContent }[]> {
    if (m.type === MessageType.roomParameters) return this.accept(m);
    if (m.type === MessageType.roomFileKeyRequest) await this.answer(m);
    return [];
  }

  /** The room's entries among `ids` as the server lists them now (batched). */
  private async lookup(roomId: string, ids: string[]): Promise<Map<string, RoomFileEntry>> {
    const found = new Map<string, RoomFileEntry>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += MAX_REQUEST_ENTRIES) {
      const { items } = await this.client.api.call<{ items: RoomFileEntry[] }>("POST", `/api/client/v1/rooms/${roomId}/files/lookup`, { ids: unique.slice(i, i + MAX_REQUEST_ENTRIES) });
      for (const e of items) found.set(e.id, e);
    }
    return found;
  }

  private async accept(m: ReceivedMessage): Promise<{ entryId: string; content: FileContent }[]> {
    const roomId = m.conversationId;
    const infos = fileVaultInfosOf(m.content);
    const reject = (entryId: string, reason: RejectReason) => this.emit({ type: "rejected", roomId, entryId, senderUserId: m.senderUserId, reason });
    const unknown: FileVaultInfo[] = [];
    for (const info of infos) {
      const kept = this.store.get(info.entryid);
      if (!kept) unknown.push(info);
      else if (!sameKey(kept, info)) reject(info.entryid, "conflict");
    }
    if (unknown.length === 0) return [];
    // Only entries the server lists in this room, holding this very file, are taken.
    const entries = await this.lookup(roomId, unknown.map((i) => i.entryid));
    const kept: { entryId: string; content: FileContent }[] = [];
    for (const { entryid, ...c } of unknown) {
      const entry = entries.get(entryid);
      if (!entry) {
        reject(entryid, "unknown_entry");
        continue;
      }
      if (entry.kind !== "file" || entry.fileId !== c.fileid || entry.size !== c.size) {
        reject(entryid, "mismatch");
        continue;
      }
      if (!(await this.trusted(m, entry)) && !(await this.opensFirstChunk(c))) {
        reject(entryid, "bad_key");
        continue;
      }
      // Another message may have brought this entry's key while the lookup ran: first one stays.
      const now = this.store.get(entryid);
      if (now) {
        if (!sameKey(now, c)) reject(entryid, "conflict");
        continue;
      }
      const key: RoomFileKey = { ...c, name: entry.name, roomid: roomId };
      this.store.set(entryid, key);
      kept.push({ entryId: entryid, content: content(key) });
      this.emit({ type: "key", roomId, entryId: entryid, content: key });
    }
    return kept;
  }

  /** The user's own devices, the entry's creator and the room's moderators are believed; plain members are checked. */
  private async trusted(m: ReceivedMessage, entry: RoomFileEntry): Promise<boolean> {
    if (m.senderUserId === this.client.userId || m.senderUserId === entry.createdBy) return true;
    const view = await this.client.conversation(m.conversationId);
    return view.members.some((x) => x.userId === m.senderUserId && x.role === "moderator");
  }

  /** Whether the key opens the file's first chunk as stored (AES-GCM fails with any other key). */
  private async opensFirstChunk(c: FileContent): Promise<boolean> {
    try {
      const res = await this.client.api.raw("GET", `/api/client/v1/files/${c.fileid}/chunks/0`);
      const sealed = new Uint8Array(await res.arrayBuffer());
      if (toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", sealed))) !== c.chunkhashes[0]) return false;
      await decryptChunk(fromBase64url(c.key), 0, sealed, { final: c.chunkhashes.length === 1, context: new TextEncoder().encode(c.fileid) });
      return true;
    } catch {
      return false;
    }
  }

  /** Asks the room's members for the keys of these entries (those this device lacks). */
  async requestKeys(roomId: string, entryIds: string[]): Promise<number> {
    const missing = [...new Set(entryIds)].filter((id) => ENTRY_ID.test(id) && !this.store.get(id));
    for (let i = 0; i < missing.length; i += MAX_REQUEST_ENTRIES) {
      const request: RoomFileKeyRequest = { entryids: missing.slice(i, i + MAX_REQUEST_ENTRIES) };
      await this.client.send(roomId, MessageType.roomFileKeyRequest, request);
    }
    return missing.length;
  }

  private async answer(m: ReceivedMessage) {
    const roomId = m.conversationId;
    const ids = (m.content as { entryids?: unknown } | null)?.entryids;
    if (!Array.isArray(ids) || m.senderDeviceId === this.client.deviceId) return;
    const now = Date.now();
    this.prune(now);
    // Only keys of THIS room's entries, each at most once per interval to the asking device.
    const due = [...new Set(ids.slice(0, MAX_REQUEST_ENTRIES))].filter((id): id is string => {
      if (typeof id !== "string") return false;
      const last = this.answered.get(`${m.senderDeviceId} ${id}`);
      return this.store.get(id)?.roomid === roomId && (last === undefined || now - last >= this.answerIntervalMs);
    });
    if (due.length === 0) return;
    for (const id of due) this.answered.set(`${m.senderDeviceId} ${id}`, now);
    const view = await this.client.conversation(roomId);
    if (!view.members.some((x) => x.userId === m.senderUserId) && !(await this.client.conversation(roomId, 0)).members.some((x) => x.userId === m.senderUserId)) return;
    const sent = await this.sendKeys(roomId, due, [m.senderDeviceId]);
    if (sent.length) this.emit({ type: "answered", roomId, deviceId: m.senderDeviceId, entryIds: sent });
  }

  /** Hands the keys this device holds for the room's entries to members just added (each to all their devices). */
  async handOver(roomId: string, userIds: string[]) {
    const ours = [...this.store.entries()].filter(([, k]) => k.roomid === roomId).map(([id]) => id);
    if (ours.length === 0) return;
    const users = await this.client.lookupUsers({ userIds: userIds.filter((u) => u !== this.client.userId) });
    for (const u of users) {
      const devices = u.devices.map((d) => d.deviceId);
      if (devices.length === 0) continue; // no device yet: it asks once it has one
      try {
        await this.sendKeys(roomId, ours, devices);
      } catch (error) {
        this.emit({ type: "error", roomId, error });
      }
    }
  }

  /** Sends the keys of the entries that still exist, in messages of bounded size, to these devices; returns the entries sent. */
  private async sendKeys(roomId: string, entryIds: string[], devices: string[]): Promise<string[]> {
    const entries = await this.lookup(roomId, entryIds);
    const infos: FileVaultInfo[] = [];
    for (const id of entryIds) {
      const k = this.store.get(id);
      const e = entries.get(id);
      if (k && e && e.fileId === k.fileid) infos.push({ entryid: id, ...content(k), name: e.name });
    }
    const sent: string[] = [];
    let batch: FileVaultInfo[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      try {
        await this.client.send(roomId, MessageType.roomParameters, fileVaultContent(batch, true), { devices });
        sent.push(...batch.map((b) => b.entryid));
      } catch (e) {
        // The device is gone (reset, or its user left the room): nobody to tell.
        if (!(e instanceof OutpostError && (e.code === "no_recipients" || e.code === "unknown_recipient"))) throw e;
      }
      batch = [];
      bytes = 0;
    };
    for (const info of infos) {
      const size = JSON.stringify(info).length;
      if (bytes + size > MAX_KEYS_JSON) await flush();
      batch.push(info);
      bytes += size;
    }
    await flush();
    return sent;
  }

  private prune(now: number) {
    if (this.answered.size < 10_000) return;
    for (const [k, t] of this.answered) if (now - t >= this.answerIntervalMs) this.answered.delete(k);
  }
}

const registry = new WeakMap<OutpostClient, RoomKeys>();
/** The Files-area key store of a client (options apply when it is first created); call enable() to start the exchange. */
export function roomKeys(client: OutpostClient, opts: RoomKeyOptions = {}): RoomKeys {
  let k = registry.get(client);
  if (!k) registry.set(client, (k = new RoomKeys(client, opts)));
  return k;
}

// Moving a user's root key to a new device with a one-time code. The code (20 characters,
// 100 bits) is shown on the old device and typed or scanned on the new one; the server
// holds the bundle under a hash of the code and never sees the key that opens it.
// Optionally the old device's message history travels too, as an archive sealed under a
// second key from the same code (isomorphic: WebCrypto and CompressionStream only).
import { decryptChunk, encryptChunk, fromBase64url, importSigningKeyPair, toBase64url, toHex, type KeyPair, type SuiteId } from "../crypto/index.ts";
import { OutpostError, type RestApi } from "./api.ts";

const CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const BUNDLE_CONTEXT = new TextEncoder().encode("outpost/v1/device-sync");
const enc = (s: string) => new TextEncoder().encode(s);

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
}

/** What the server may see (lookupHash) and what only the two devices know (key, historyKey). */
export async function syncSecrets(code: string): Promise<{ lookupHash: string; key: Uint8Array; historyKey: Uint8Array }> {
  const norm = code.replace(/[\s-]/g, "").toUpperCase();
  return {
    lookupHash: toHex(await sha256(enc(`outpost/v1/sync-lookup\0${norm}`))),
    key: await sha256(enc(`outpost/v1/sync-key\0${norm}`)),
    historyKey: await sha256(enc(`outpost/v1/sync-history-key\0${norm}`)),
  };
}

/** A fresh code, grouped in fives for reading aloud, and the bundle sealing the root key under it. */
export async function newSyncBundle(root: KeyPair): Promise<{ code: string; lookupHash: string; bundle: Uint8Array }> {
  const raw = crypto.getRandomValues(new Uint8Array(20));
  const code = [...raw].map((b) => CODE_ALPHABET[b % 32]).join("");
  const { lookupHash, key } = await syncSecrets(code);
  const plain = enc(JSON.stringify({ suite: root.suite, rootPrivate: toBase64url(root.privateBytes) }));
  const bundle = await encryptChunk(key, 0, plain, { final: true, context: BUNDLE_CONTEXT });
  return { code: code.match(/.{5}/g)!.join("-"), lookupHash, bundle };
}

/** Opens a bundle taken from the server with the code the user entered. */
export async function openSyncBundle(code: string, bundle: Uint8Array): Promise<KeyPair> {
  const { key } = await syncSecrets(code);
  const plain = await decryptChunk(key, 0, bundle, { final: true, context: BUNDLE_CONTEXT });
  const { suite, rootPrivate } = JSON.parse(new TextDecoder().decode(plain)) as { suite: SuiteId; rootPrivate: string };
  return importSigningKeyPair(suite, fromBase64url(rootPrivate));
}

// ------------------------------------------------------------------ history

/** Largest archive the server keeps (compressed, encrypted); the same limit as the server's. */
export const MAX_SYNC_HISTORY_BYTES = 16 * 1024 * 1024;
/** Largest history once decompressed: a damaged or hostile archive cannot exhaust memory. */
const MAX_HISTORY_PLAIN_BYTES = 256 * 1024 * 1024;

/** A message as a client keeps it: only the fields the archive itself needs are fixed. */
export interface SyncHistoryMessage {
  id: string;
  conversationId: string;
  /** Milliseconds since the epoch. */
  sentAt: number;
  /** Expiration in seconds from sentAt (0: never). */
  ttl: number;
  /** Burn-on-read seconds from readAt (0: none). */
  bor: number;
  readAt?: number;
  [field: string]: unknown;
}

/** What one device hands to the user's new device: its conversations, messages, usernames and room file keys. */
export interface SyncHistory {
  conversations: ({ id: string } & Record<string, unknown>)[];
  messages: SyncHistoryMessage[];
  usernames: Record<string, string>;
  /** Keys of files in rooms' Files areas, by entry id. */
  roomFiles: Record<string, unknown>;
}

/** Messages whose expiration or burn-on-read time has passed are never handed over. */
export function liveMessages<T extends SyncHistoryMessage>(messages: T[], now = Date.now()): T[] {
  return messages.filter((m) => !(m.ttl > 0 && m.sentAt + m.ttl * 1000 <= now) && !(m.bor > 0 && m.readAt !== undefined && m.readAt + m.bor * 1000 <= now));
}

const historyContext = (userId: string) => enc(`outpost/v1/device-sync-history\0${userId}`);

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream, limit: number): Promise<Uint8Array> {
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream).getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > limit) {
      await reader.cancel();
      throw new OutpostError("payload_too_large", `the history is larger than ${limit} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Seals a history for the user's new device: expired and burned messages left out, timers
 * kept (so everything still expires on time there), gzip, then AES-256-GCM under the code's
 * history key, bound to the user id.
 */
export async function sealSyncHistory(code: string, userId: string, history: SyncHistory, now = Date.now()): Promise<Uint8Array> {
  const { historyKey } = await syncSecrets(code);
  const plain = enc(JSON.stringify({ v: 1, userId, createdAt: now, ...history, messages: liveMessages(history.messages, now) }));
  const packed = await pipe(plain, new CompressionStream("gzip"), Number.POSITIVE_INFINITY);
  const archive = await encryptChunk(historyKey, 0, packed, { final: true, context: historyContext(userId) });
  if (archive.length > MAX_SYNC_HISTORY_BYTES) throw new OutpostError("payload_too_large", `the history is too large to move (${archive.length} bytes compressed; at most ${MAX_SYNC_HISTORY_BYTES}): create a code without it`);
  return archive;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isTime = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;

/** Opens an archive with the code the user entered; a wrong code, a changed byte or another user's archive fails as "bad_archive". */
export async function openSyncHistory(code: string, userId: string, archive: Uint8Array, now = Date.now()): Promise<SyncHistory> {
  const { historyKey } = await syncSecrets(code);
  let packed: Uint8Array;
  try {
    packed = await decryptChunk(historyKey, 0, archive, { final: true, context: historyContext(userId) });
  } catch {
    throw new OutpostError("bad_archive", "the history archive does not open with this code for this user (wrong code, altered, or another user's)");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await pipe(packed, new DecompressionStream("gzip"), MAX_HISTORY_PLAIN_BYTES)));
  } catch (e) {
    if (e instanceof OutpostError) throw e;
    throw new OutpostError("bad_archive", "the history archive is not a history");
  }
  const h = parsed as Record<string, unknown>;
  const bad = (field: string): never => {
    throw new OutpostError("bad_archive", `the history archive's ${field} is malformed`);
  };
  if (!isRecord(h) || h.v !== 1) bad("version");
  if (h.userId !== userId) bad("userId");
  if (!Array.isArray(h.conversations) || !h.conversations.every((c) => isRecord(c) && typeof c.id === "string")) bad("conversations");
  if (!Array.isArray(h.messages)) bad("messages");
  for (const m of h.messages as unknown[]) {
    if (!isRecord(m) || typeof m.id !== "string" || typeof m.conversationId !== "string" || !isTime(m.sentAt) || !isTime(m.ttl) || !isTime(m.bor) || (m.readAt !== undefined && !isTime(m.readAt))) bad("messages");
  }
  if (!isRecord(h.usernames) || !Object.values(h.usernames).every((u) => typeof u === "string")) bad("usernames");
  if (h.roomFiles !== undefined && !isRecord(h.roomFiles)) bad("roomFiles");
  return {
    conversations: h.conversations as SyncHistory["conversations"],
    messages: liveMessages(h.messages as SyncHistoryMessage[], now),
    usernames: h.usernames as Record<string, string>,
    roomFiles: (h.roomFiles as Record<string, unknown> | undefined) ?? {},
  };
}

/** Leaves a sealed archive on the server under the code's lookup hash (do this before publishing the bundle). */
export async function putSyncHistory(api: RestApi, lookupHash: string, archive: Uint8Array): Promise<void> {
  await api.raw("PUT", `/api/client/v1/sync-bundles/${lookupHash}/history`, { body: archive as Uint8Array<ArrayBuffer>, headers: { "content-type": "application/octet-stream" } });
}

/**
 * The new device (registered with the code) takes the history its code points to, once, and
 * opens it; null when the old device left none.
 */
export async function takeSyncHistory(api: RestApi, code: string, userId: string): Promise<SyncHistory | null> {
  const { lookupHash } = await syncSecrets(code);
  let res: Response;
  try {
    res = await api.raw("POST", `/api/client/v1/sync-bundles/${lookupHash}/history/take`);
  } catch (e) {
    if (e instanceof OutpostError && e.status === 404) return null;
    throw e;
  }
  return openSyncHistory(code, userId, new Uint8Array(await res.arrayBuffer()));
}

// Encrypted files for the SDK: each file gets its own random key; chunks are sealed with
// AES-256-GCM (index, last-chunk flag and file id in the AAD), uploaded in parallel with
// resume, and downloaded in parallel with every chunk and the whole file checked. The key,
// chunk hashes and plaintext SHA-256 travel only inside the encrypted 6000 message.
// Reading from and saving to paths needs Bun; bytes and streams work anywhere with fetch.
import { createHash } from "node:crypto";
import { rename, unlink } from "node:fs/promises";
import { decryptChunk, encryptChunk, fromBase64url, generateKey, PacketError, toBase64url, toHex } from "../crypto/index.ts";
import { OutpostError } from "./api.ts";
import type { OutpostClient, SendOptions, SendResult } from "./client.ts";
import { MessageType } from "./messages.ts";
import type { EntryView } from "../modules/files/room-files.service.ts";

/** Content of a 6000 (file) message. */
export interface FileContent {
  fileid: string;
  name: string;
  size: number;
  mimetype?: string;
  /** base64url AES-256 key of this file. */
  key: string;
  chunksize: number;
  /** SHA-256 (hex) of each encrypted chunk as stored on the server. */
  chunkhashes: string[];
  /** SHA-256 (hex) of the whole plaintext. */
  sha256: string;
}

export type FileSource = { name: string; mimetype?: string } & ({ bytes: Uint8Array } | { path: string } | { stream: ReadableStream<Uint8Array>; size: number });

export interface FileProgress {
  phase: "upload" | "download";
  /** Plaintext bytes done so far, of `total`. */
  done: number;
  total: number;
}

/** What a caller keeps to resume an interrupted upload (the key never leaves the client unencrypted). */
export interface UploadHandle {
  fileId: string;
  key: string;
  conversationId: string;
  size: number;
  chunkSize: number;
}

export interface SendFileOptions extends SendOptions {
  onProgress?: (p: FileProgress) => void;
  /** Called once the server has created the upload: persist it to resume after a crash. */
  onUpload?: (h: UploadHandle) => void;
  /** Continue this earlier upload of the same source instead of starting anew. */
  resume?: UploadHandle;
  chunkSize?: number;
  /** Chunks in flight at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface ReceiveOptions {
  onProgress?: (p: FileProgress) => void;
  concurrency?: number;
  signal?: AbortSignal;
}

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
const FILE_API = "/api/client/v1/files";

interface UploadStatus {
  fileId: string;
  state: "uploading" | "complete";
  size: number;
  chunkSize: number;
  chunkCount: number;
  received: { index: number; hash: string }[];
}

function integrity(message: string): OutpostError {
  return new OutpostError("integrity", message);
}

/** Reads a source as consecutive plaintext chunks (streams are re-chunked to exact sizes). */
async function* chunksOf(source: FileSource, size: number, chunkSize: number): AsyncGenerator<Uint8Array> {
  const count = Math.max(1, Math.ceil(size / chunkSize));
  if ("bytes" in source) {
    for (let i = 0; i < count; i++) yield source.bytes.subarray(i * chunkSize, Math.min(size, (i + 1) * chunkSize));
  } else if ("path" in source) {
    const file = Bun.file(source.path);
    for (let i = 0; i < count; i++) yield await file.slice(i * chunkSize, Math.min(size, (i + 1) * chunkSize)).bytes();
  } else {
    let buf = new Uint8Array(Math.min(chunkSize, size));
    let fill = 0;
    let emitted = 0;
    for await (const part of source.stream) {
      let off = 0;
      while (off < part.length) {
        const n = Math.min(buf.length - fill, part.length - off);
        if (n === 0 && emitted >= count) throw new OutpostError("bad_source", `the stream is longer than the declared ${size} bytes`);
        buf.set(part.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === buf.length && emitted < count - 1) {
          yield buf;
          emitted++;
          buf = new Uint8Array(Math.min(chunkSize, size - emitted * chunkSize));
          fill = 0;
        }
      }
    }
    if (fill !== buf.length) throw new OutpostError("bad_source", `the stream ended before the declared ${size} bytes`);
    yield buf;
  }
}

/** Runs at most `limit` tasks at once; `add` waits while full; `drain` rethrows the first failure. */
class Pool {
  private readonly running = new Set<Promise<void>>();
  private failure: unknown;
  constructor(private readonly limit: number) {}
  async add(task: () => Promise<void>) {
    if (this.failure) throw this.failure;
    const p: Promise<void> = task().then(
      () => void this.running.delete(p),
      (e) => {
        this.running.delete(p);
        this.failure ??= e;
      },
    );
    this.running.add(p);
    while (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.failure) throw this.failure;
  }
  async drain() {
    await Promise.all(this.running);
    if (this.failure) throw this.failure;
  }
}

function retryable(e: unknown): boolean {
  if (e instanceof OutpostError) return e.status >= 500 || e.status === 0;
  return !(e instanceof Error && e.name === "AbortError");
}

async function withRetry<T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (signal?.aborted || attempt >= 4 || !retryable(e)) throw e;
      // setTimeout, not Bun.sleep: this module also runs in browsers (web/client).
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

export class FileTransfer {
  /** Told of every file this client puts into a room's Files area (src/client/room-keys.ts keeps its key). */
  onRoomFileSaved: ((roomId: string, entryId: string, content: FileContent) => void) | undefined;
  constructor(readonly client: OutpostClient) {}

  /**
   * Encrypts and uploads a file, then sends the 6000 message carrying its key. A broken
   * connection is retried per chunk; pass `resume` (from onUpload) to continue after a crash.
   */
  async sendFile(conversationId: string, source: FileSource, opts: SendFileOptions = {}): Promise<SendResult & { content: FileContent }> {
    const content = await this.upload(conversationId, source, opts);
    const sent = await this.client.send(conversationId, MessageType.file, content, { ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}), ...(opts.bor !== undefined ? { bor: opts.bor } : {}) });
    // The message now exists in the relay's log: tie the file's life to it.
    await withRetry(opts.signal, () => this.client.api.call("POST", `${FILE_API}/${content.fileid}/refs`, { conversationId, packetId: sent.packetId, ttl: opts.ttl ?? 0 }));
    return { ...sent, content };
  }

  /** Uploads without sending a message (e.g. straight into a room's Files area); returns the content a message would carry. */
  async upload(conversationId: string, source: FileSource, opts: SendFileOptions = {}): Promise<FileContent> {
    const size = "bytes" in source ? source.bytes.length : "path" in source ? Bun.file(source.path).size : source.size;
    let handle = opts.resume;
    let status: UploadStatus;
    if (handle) {
      if (handle.size !== size || handle.conversationId !== conversationId) throw new OutpostError("bad_source", "this source does not match the upload being resumed");
      status = await this.client.api.call<UploadStatus>("GET", `${FILE_API}/${handle.fileId}/upload`);
    } else {
      const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
      status = await this.client.api.call<UploadStatus>("POST", FILE_API, { conversationId, size, chunkSize });
      handle = { fileId: status.fileId, key: toBase64url(await generateKey()), conversationId, size, chunkSize };
      opts.onUpload?.(handle);
    }
    const key = fromBase64url(handle.key);
    const context = new TextEncoder().encode(handle.fileId);
    const hashes: string[] = new Array(status.chunkCount);
    for (const r of status.received) hashes[r.index] = r.hash;
    const whole = createHash("sha256");
    const pool = new Pool(opts.concurrency ?? 4);
    let done = 0;
    let index = 0;
    opts.onProgress?.({ phase: "upload", done, total: size });
    for await (const plain of chunksOf(source, size, handle.chunkSize)) {
      whole.update(plain);
      const i = index++;
      if (status.state === "complete" || hashes[i]) {
        done += plain.length;
        continue;
      }
      await pool.add(async () => {
        const sealed = await encryptChunk(key, i, plain, { final: i === status.chunkCount - 1, context });
        const res = await withRetry(opts.signal, () =>
          this.client.api.raw("PUT", `${FILE_API}/${handle.fileId}/chunks/${i}`, { body: sealed as Uint8Array<ArrayBuffer>, headers: { "content-type": "application/octet-stream" }, ...(opts.signal ? { signal: opts.signal } : {}) }),
        );
        hashes[i] = ((await res.json()) as { hash: string }).hash;
        done += plain.length;
        opts.onProgress?.({ phase: "upload", done, total: size });
      });
    }
    await pool.drain();
    if (index !== status.chunkCount) throw new OutpostError("bad_source", `the source gave ${index} chunks, the upload expects ${status.chunkCount}`);
    if (status.state !== "complete") await this.client.api.call("POST", `${FILE_API}/${handle.fileId}/complete`);
    opts.onProgress?.({ phase: "upload", done: size, total: size });
    return { fileid: handle.fileId, name: source.name, size, ...(source.mimetype ? { mimetype: source.mimetype } : {}), key: handle.key, chunksize: handle.chunkSize, chunkhashes: hashes, sha256: whole.digest("hex") };
  }

  /**
   * Downloads and decrypts a file chunk by chunk (several in flight), handing each plaintext
   * chunk to `write` in order; every chunk's hash and tag and the whole file's SHA-256 are checked.
   */
  async receive(content: FileContent, write: (plain: Uint8Array) => void | Promise<void>, opts: ReceiveOptions = {}): Promise<void> {
    const info = await this.client.api.call<{ size: number; chunkSize: number; chunkCount: number }>("GET", `${FILE_API}/${content.fileid}`);
    if (info.size !== content.size || info.chunkSize !== content.chunksize || info.chunkCount !== content.chunkhashes.length) {
      throw integrity("the server's copy of this file does not match the message describing it");
    }
    const key = fromBase64url(content.key);
    const context = new TextEncoder().encode(content.fileid);
    const whole = createHash("sha256");
    const window = opts.concurrency ?? 4;
    const fetchChunk = async (i: number) => {
      const res = await withRetry(opts.signal, () => this.client.api.raw("GET", `${FILE_API}/${content.fileid}/chunks/${i}`, opts.signal ? { signal: opts.signal } : {}));
      const sealed = new Uint8Array(await res.arrayBuffer());
      // WebCrypto's digest runs off the JS thread, so chunks in flight are checked in parallel.
      if (toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", sealed))) !== content.chunkhashes[i]) throw integrity(`chunk ${i} was altered`);
      try {
        return await decryptChunk(key, i, sealed, { final: i === info.chunkCount - 1, context });
      } catch (e) {
        if (e instanceof PacketError) throw integrity(`chunk ${i} does not decrypt: ${e.message}`);
        throw e;
      }
    };
    const inflight: Promise<Uint8Array>[] = [];
    for (let i = 0; i < Math.min(window, info.chunkCount); i++) inflight.push(fetchChunk(i));
    // Failures of chunks still queued surface when their turn comes; keep them from going unhandled meanwhile.
    for (const p of inflight) p.catch(() => undefined);
    let done = 0;
    opts.onProgress?.({ phase: "download", done, total: info.size });
    for (let i = 0; i < info.chunkCount; i++) {
      const plain = await inflight[i]!;
      delete inflight[i];
      const next = i + window;
      if (next < info.chunkCount) {
        inflight[next] = fetchChunk(next);
        inflight[next].catch(() => undefined);
      }
      whole.update(plain);
      await write(plain);
      done += plain.length;
      opts.onProgress?.({ phase: "download", done, total: info.size });
    }
    if (done !== content.size || whole.digest("hex") !== content.sha256) throw integrity("the file's SHA-256 does not match the message");
  }

  /** The whole file in memory (small files). */
  async download(content: FileContent, opts: ReceiveOptions = {}): Promise<Uint8Array> {
    const out = new Uint8Array(content.size);
    let off = 0;
    await this.receive(content, (p) => {
      out.set(p, off);
      off += p.length;
    }, opts);
    return out;
  }

  /** Streams the file to `path` (via a .part file renamed only once every check passed). */
  async saveFile(content: FileContent, path: string, opts: ReceiveOptions = {}): Promise<void> {
    const part = `${path}.part`;
    const sink = Bun.file(part).writer({ highWaterMark: 1024 * 1024 });
    try {
      await this.receive(content, async (p) => {
        sink.write(p);
        await sink.flush();
      }, opts);
      await sink.end();
      await rename(part, path);
    } catch (e) {
      try {
        await sink.end();
      } catch {
        // already closed
      }
      await unlink(part).catch(() => undefined);
      throw e;
    }
  }

  // A room's Files area (the network's file management switch must be on).

  listRoomFiles(roomId: string, opts: { parentId?: string; limit?: number; after?: string } = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts)) if (v !== undefined) q.set(k, String(v));
    return this.client.api.call<{ items: RoomFileEntry[]; next: string | null }>("GET", `/api/client/v1/rooms/${roomId}/files${q.size ? `?${q}` : ""}`);
  }

  createFolder(roomId: string, name: string, parentId?: string) {
    return this.client.api.call<RoomFileEntry>("POST", `/api/client/v1/rooms/${roomId}/files`, { kind: "folder", name, ...(parentId ? { parentId } : {}) });
  }

  /**
   * Puts a file into the room's Files area (one received in a message, or uploaded with
   * `upload`) and tells the room's members its key with a 4004 message, changemask 64.
   */
  async saveToRoom(roomId: string, content: FileContent, opts: { name?: string; parentId?: string } = {}): Promise<RoomFileEntry> {
    const entry = await this.client.api.call<RoomFileEntry>("POST", `/api/client/v1/rooms/${roomId}/files`, { kind: "file", fileId: content.fileid, name: opts.name ?? content.name, ...(opts.parentId ? { parentId: opts.parentId } : {}) });
    this.onRoomFileSaved?.(roomId, entry.id, { ...content, name: entry.name });
    await this.client.send(roomId, MessageType.roomParameters, { changemask: 64, filevaultinfo: { entryid: entry.id, ...content, name: entry.name } }).catch((e) => {
      // A room with no other device has nobody to tell.
      if (!(e instanceof OutpostError && e.code === "no_recipients")) throw e;
    });
    return entry;
  }

  /** Uploads a new file straight into the room's Files area. */
  async uploadToRoom(roomId: string, source: FileSource, opts: SendFileOptions & { parentId?: string } = {}): Promise<{ entry: RoomFileEntry; content: FileContent }> {
    const content = await this.upload(roomId, source, opts);
    return { entry: await this.saveToRoom(roomId, content, opts.parentId ? { parentId: opts.parentId } : {}), content };
  }

  updateRoomEntry(roomId: string, entryId: string, patch: { name?: string; parentId?: string | null }) {
    return this.client.api.call<RoomFileEntry>("PATCH", `/api/client/v1/rooms/${roomId}/files/${entryId}`, patch);
  }

  deleteRoomEntry(roomId: string, entryId: string) {
    return this.client.api.call<{ deleted: number }>("DELETE", `/api/client/v1/rooms/${roomId}/files/${entryId}`);
  }
}

/** An entry of a room's Files area as the server lists it (type-only import of the server's view). */
export type RoomFileEntry = EntryView;

const transfers = new WeakMap<OutpostClient, FileTransfer>();
/** The file transfer functions of a client: `files(client).sendFile(...)`. */
export function files(client: OutpostClient): FileTransfer {
  let t = transfers.get(client);
  if (!t) transfers.set(client, (t = new FileTransfer(client)));
  return t;
}

/** A received 6000 message's content, checked for shape before use. */
export function fileContentOf(content: unknown): FileContent {
  const c = content as Partial<FileContent> | null;
  if (
    !c ||
    typeof c.fileid !== "string" ||
    typeof c.name !== "string" ||
    typeof c.key !== "string" ||
    typeof c.sha256 !== "string" ||
    !Number.isSafeInteger(c.size) ||
    !Number.isSafeInteger(c.chunksize) ||
    !Array.isArray(c.chunkhashes) ||
    !c.chunkhashes.every((h) => typeof h === "string")
  ) {
    throw new OutpostError("bad_content", "this message does not describe a file");
  }
  return c as FileContent;
}

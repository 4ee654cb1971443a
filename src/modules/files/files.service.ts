// Encrypted file transfer on the server: upload sessions (declared size, chunk size and
// conversation), idempotent resumable chunk uploads, downloads for members of a conversation
// the file was sent in, and the lifecycle that deletes chunks once nothing refers to them.
// The server never sees a file key, name or plaintext hash: those travel in the 6000 message.
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { fileChunks, fileRefs, files, roomFileEntries } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { packetStore } from "../../relay/store.ts";
import type { DevicePrincipal } from "../devices/devices.service.ts";
import { getSecurityGroup } from "../security-groups/security-groups.service.ts";
import { blobStore } from "./blob-store.ts";

/** AES-256-GCM chunk overhead: 12-byte IV + 16-byte tag (see src/crypto/aead.ts). */
export const CHUNK_OVERHEAD = 28;
export const MAX_CHUNK_SIZE = 4 * 1024 * 1024;
export const MIN_CHUNK_SIZE = 1024;
/** Largest request body a chunk upload may have. */
export const MAX_CHUNK_BODY = MAX_CHUNK_SIZE + CHUNK_OVERHEAD;

export interface FileTimings {
  /** How long a reference may wait for its message to reach the relay (and a completed file for its first reference). */
  refGraceMs: number;
  /** Uploads untouched this long are abandoned and deleted. */
  abandonMs: number;
}
const timings = new WeakMap<AppContext, FileTimings>();
export function fileTimings(ctx: AppContext): FileTimings {
  let t = timings.get(ctx);
  if (!t) timings.set(ctx, (t = { refGraceMs: 10 * 60_000, abandonMs: 24 * 3600_000 }));
  return t;
}

type FileRow = typeof files.$inferSelect;

function fail(field: string, rule: string, message: string): never {
  throw new AppError("validation_failed", `${field}: ${message}`, [{ path: field, rule, message }]);
}

function messagingSettings(ctx: AppContext, me: DevicePrincipal) {
  return getSecurityGroup(ctx, me.networkId, me.securityGroupId).settings.messaging;
}

/** The network's compliance device is a recipient of every message, so it may read every file of its network. */
function isComplianceDevice(ctx: AppContext, me: DevicePrincipal): boolean {
  return packetStore(ctx).complianceDevice(me.networkId) === me.deviceId;
}

/** Refused in both directions when the caller's security group has attachments off (retention still records what others sent). */
function requireAttachments(ctx: AppContext, me: DevicePrincipal) {
  if (isComplianceDevice(ctx, me)) return;
  if (!messagingSettings(ctx, me).attachments) throw new AppError("forbidden", "attachments are switched off for your security group");
}

function isMember(ctx: AppContext, me: DevicePrincipal, conversationId: string): boolean {
  const info = packetStore(ctx).conversationInfo(conversationId);
  return !!info && info.networkId === me.networkId && info.members.has(me.userId);
}

function requireMember(ctx: AppContext, me: DevicePrincipal, conversationId: string, field: string) {
  if (!isMember(ctx, me, conversationId)) throw new AppError("not_found", `${field}: no conversation ${conversationId} of yours`, [{ path: field, rule: "member", message: "you are not a member of this conversation" }]);
}

/** Expected encrypted length of chunk `index` (every chunk is full except the last; an empty file has one empty chunk). */
export function encryptedChunkLength(f: Pick<FileRow, "size" | "chunkSize" | "chunkCount">, index: number): number {
  const plain = index < f.chunkCount - 1 ? f.chunkSize : f.size - f.chunkSize * (f.chunkCount - 1);
  return plain + CHUNK_OVERHEAD;
}

export function chunkCountFor(size: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(size / chunkSize));
}

export interface UploadInput {
  conversationId: string;
  size: number;
  chunkSize: number;
}

export async function createUpload(ctx: AppContext, me: DevicePrincipal, input: UploadInput) {
  requireAttachments(ctx, me);
  requireMember(ctx, me, input.conversationId, "conversationId");
  const max = messagingSettings(ctx, me).maxUploadBytes;
  if (input.size > max) throw new AppError("payload_too_large", `size: your security group allows files of at most ${max} bytes (this one is ${input.size})`, { limitBytes: max });
  if (input.chunkSize < MIN_CHUNK_SIZE || input.chunkSize > MAX_CHUNK_SIZE) fail("chunkSize", "range", `between ${MIN_CHUNK_SIZE} and ${MAX_CHUNK_SIZE} bytes`);
  const now = Date.now();
  const row: FileRow = {
    id: crypto.randomUUID().replaceAll("-", ""),
    networkId: me.networkId,
    conversationId: input.conversationId,
    uploaderUserId: me.userId,
    size: input.size,
    chunkSize: input.chunkSize,
    chunkCount: chunkCountFor(input.size, input.chunkSize),
    state: "uploading",
    createdAt: now,
    touchedAt: now,
    referencedAt: null,
  };
  await ctx.writer.run(() => ctx.storage.writeDb.insert(files).values(row).run());
  return uploadStatus(ctx, me, row.id);
}

function fileRow(ctx: AppContext, id: string): FileRow | undefined {
  return ctx.storage.read().select().from(files).where(eq(files.id, id)).get();
}

/** The uploader's own session; anyone else learns nothing about it. */
function ownUpload(ctx: AppContext, me: DevicePrincipal, id: string): FileRow {
  const row = fileRow(ctx, id);
  if (!row || row.uploaderUserId !== me.userId || row.networkId !== me.networkId) throw new AppError("not_found", `no upload ${id} of yours`);
  return row;
}

export function uploadStatus(ctx: AppContext, me: DevicePrincipal, id: string) {
  const row = ownUpload(ctx, me, id);
  const received = ctx.storage.read().select({ index: fileChunks.idx, hash: fileChunks.hash }).from(fileChunks).where(eq(fileChunks.fileId, id)).orderBy(fileChunks.idx).all();
  return { fileId: row.id, state: row.state, conversationId: row.conversationId, size: row.size, chunkSize: row.chunkSize, chunkCount: row.chunkCount, received };
}

/** Stores chunk `index` (replacing an earlier copy while the upload is open; the same bytes again change nothing). */
export async function putChunk(ctx: AppContext, me: DevicePrincipal, id: string, index: number, body: ReadableStream<Uint8Array> | null, declaredLength: number | undefined) {
  requireAttachments(ctx, me);
  const row = ownUpload(ctx, me, id);
  if (row.state !== "uploading") throw new AppError("conflict", "this upload is complete; its chunks cannot change");
  if (index >= row.chunkCount) fail("index", "max", `this upload has chunks 0 to ${row.chunkCount - 1}`);
  const expected = encryptedChunkLength(row, index);
  if (declaredLength === undefined) throw new AppError("bad_request", "send Content-Length with each chunk");
  if (declaredLength > expected) throw new AppError("payload_too_large", `chunk ${index} is ${expected} bytes (Content-Length says ${declaredLength})`, { limitBytes: expected });
  if (declaredLength !== expected) fail("body", "length", `chunk ${index} is ${expected} bytes (Content-Length says ${declaredLength})`);
  if (!body) fail("body", "required", "the chunk bytes are missing");
  const store = blobStore(ctx);
  const { hash, length } = await store.put(body, expected);
  const replaced = await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    const current = db.select({ state: files.state }).from(files).where(eq(files.id, id)).get();
    if (current?.state !== "uploading") throw new AppError("conflict", "this upload is complete or gone");
    const old = db.select({ hash: fileChunks.hash }).from(fileChunks).where(and(eq(fileChunks.fileId, id), eq(fileChunks.idx, index))).get();
    db.insert(fileChunks).values({ fileId: id, idx: index, hash, length }).onConflictDoUpdate({ target: [fileChunks.fileId, fileChunks.idx], set: { hash, length } }).run();
    db.update(files).set({ touchedAt: Date.now() }).where(eq(files.id, id)).run();
    return old && old.hash !== hash ? old.hash : null;
  }).catch(async (e) => {
    if (!(await hashInUse(ctx, hash))) await store.remove(hash);
    throw e;
  });
  if (replaced && !(await hashInUse(ctx, replaced))) await store.remove(replaced);
  return { index, hash, length };
}

async function hashInUse(ctx: AppContext, hash: string): Promise<boolean> {
  return !!ctx.storage.read().select({ h: fileChunks.hash }).from(fileChunks).where(eq(fileChunks.hash, hash)).limit(1).get();
}

export async function completeUpload(ctx: AppContext, me: DevicePrincipal, id: string) {
  requireAttachments(ctx, me);
  const row = ownUpload(ctx, me, id);
  if (row.state === "complete") return uploadStatus(ctx, me, id);
  const { n } = ctx.storage.read().select({ n: sql<number>`count(*)` }).from(fileChunks).where(eq(fileChunks.fileId, id)).get()!;
  if (n !== row.chunkCount) throw new AppError("conflict", `${row.chunkCount - n} of ${row.chunkCount} chunks are still missing`, { missing: row.chunkCount - n });
  await ctx.writer.run(() => ctx.storage.writeDb.update(files).set({ state: "complete", touchedAt: Date.now() }).where(eq(files.id, id)).run());
  return uploadStatus(ctx, me, id);
}

/** Conversations whose members may download: the declared one, every referring message's, every room keeping it in its Files area. */
function fileConversations(ctx: AppContext, row: FileRow): string[] {
  const db = ctx.storage.read();
  const refs = db.selectDistinct({ id: fileRefs.conversationId }).from(fileRefs).where(eq(fileRefs.fileId, row.id)).all();
  const rooms = db.selectDistinct({ id: roomFileEntries.roomId }).from(roomFileEntries).where(eq(roomFileEntries.fileId, row.id)).all();
  return [...new Set([row.conversationId, ...refs.map((r) => r.id), ...rooms.map((r) => r.id)])];
}

/** A complete file the caller may read; anyone else is told it does not exist. */
export function readableFile(ctx: AppContext, me: DevicePrincipal, id: string): FileRow {
  const row = fileRow(ctx, id);
  if (row && row.networkId === me.networkId && row.state === "complete" && (isComplianceDevice(ctx, me) || fileConversations(ctx, row).some((c) => isMember(ctx, me, c)))) return row;
  throw new AppError("not_found", `no file ${id} in a conversation of yours`);
}

export function fileInfo(ctx: AppContext, me: DevicePrincipal, id: string) {
  requireAttachments(ctx, me);
  const row = readableFile(ctx, me, id);
  return { fileId: row.id, size: row.size, chunkSize: row.chunkSize, chunkCount: row.chunkCount, encryptedSize: row.size + CHUNK_OVERHEAD * row.chunkCount };
}

/** Where chunk `index` lives on disk, for a streamed response. */
export function chunkForDownload(ctx: AppContext, me: DevicePrincipal, id: string, index: number): { path: string; length: number } {
  requireAttachments(ctx, me);
  const row = readableFile(ctx, me, id);
  if (index >= row.chunkCount) fail("index", "max", `this file has chunks 0 to ${row.chunkCount - 1}`);
  const chunk = ctx.storage.read().select().from(fileChunks).where(and(eq(fileChunks.fileId, id), eq(fileChunks.idx, index))).get();
  if (!chunk) throw new AppError("not_found", `chunk ${index} is gone`);
  return { path: blobStore(ctx).pathOf(chunk.hash), length: chunk.length };
}

/**
 * Records that message `packetId` in `conversationId` carries this file's key: the file then
 * lives until that message expires or leaves the relay (sender or forwarder must be a member there).
 */
export async function addFileRef(ctx: AppContext, me: DevicePrincipal, id: string, input: { conversationId: string; packetId: string; ttl: number }) {
  requireAttachments(ctx, me);
  const row = readableFile(ctx, me, id);
  requireMember(ctx, me, input.conversationId, "conversationId");
  // The relay's rule for the message itself: no expiration means the group maximum, more is clamped.
  const max = messagingSettings(ctx, me).maxExpirationSeconds;
  const ttl = input.ttl === 0 ? max : Math.min(input.ttl, max);
  const now = Date.now();
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    db.insert(fileRefs).values({ fileId: row.id, conversationId: input.conversationId, packetId: input.packetId, createdAt: now, expiresAt: now + ttl * 1000 }).onConflictDoNothing().run();
    db.update(files).set({ referencedAt: now }).where(eq(files.id, row.id)).run();
  });
  return { fileId: row.id, conversationId: input.conversationId, packetId: input.packetId, expiresAt: now + ttl * 1000 };
}

/** Deletes files and their blobs (a blob shared by another file's chunk stays). */
export async function deleteFiles(ctx: AppContext, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const hashes = await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    const hs = db.selectDistinct({ hash: fileChunks.hash }).from(fileChunks).where(inArray(fileChunks.fileId, ids)).all().map((r) => r.hash);
    db.delete(files).where(inArray(files.id, ids)).run();
    return hs;
  });
  const store = blobStore(ctx);
  for (const h of hashes) if (!(await hashInUse(ctx, h))) await store.remove(h);
  return ids.length;
}

/**
 * One lifecycle pass. References go when their message expires, when the message is no longer
 * in the relay's packet log (burned, expired early, never sent) after a grace period, or when
 * their conversation is gone. Files go when nothing refers to them any more, and uploads when abandoned.
 */
export async function sweepFiles(ctx: AppContext, now = Date.now()): Promise<{ refs: number; files: number }> {
  const { refGraceMs, abandonMs } = fileTimings(ctx);
  const w = ctx.storage.writerConn;
  const refs = await ctx.writer.run(() => {
    let n = w.query("delete from file_refs where expires_at <= ?").run(now).changes;
    n += w.query("delete from file_refs where created_at < ? and not exists (select 1 from packets p where p.packet_id = file_refs.packet_id)").run(now - refGraceMs).changes;
    n += w.query("delete from file_refs where not exists (select 1 from conversations c where c.id = file_refs.conversation_id)").run().changes;
    w.query("delete from room_file_entries where not exists (select 1 from conversations c where c.id = room_file_entries.room_id)").run();
    return n;
  });
  const db = ctx.storage.read();
  const unreferenced = sql`not exists (select 1 from file_refs r where r.file_id = ${files.id}) and not exists (select 1 from room_file_entries e where e.file_id = ${files.id})`;
  const orphaned = db
    .select({ id: files.id })
    .from(files)
    .where(and(eq(files.state, "complete"), unreferenced, sql`(${files.referencedAt} is not null or ${files.touchedAt} < ${now - refGraceMs})`))
    .limit(1000)
    .all();
  const abandoned = db.select({ id: files.id }).from(files).where(and(eq(files.state, "uploading"), lt(files.touchedAt, now - abandonMs))).limit(1000).all();
  const n = await deleteFiles(ctx, [...orphaned, ...abandoned].map((r) => r.id));
  if (refs || n) ctx.log.logger.debug({ refs, files: n }, "file lifecycle pass");
  return { refs, files: n };
}

export function startFileSweeper(ctx: AppContext, intervalMs = 1000): { stop(): void } {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      await sweepFiles(ctx);
    } catch (e) {
      ctx.log.logger.error({ err: { message: (e as Error).message } }, "file lifecycle pass failed; retrying");
    } finally {
      running = false;
    }
  }, intervalMs);
  return { stop: () => clearInterval(timer) };
}

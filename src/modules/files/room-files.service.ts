// A room's Files area, when the network's file management switch is on: moderators create
// folders, add files (uploaded there or saved from a message), move, rename and delete;
// members list and download. File keys never come here: they travel in the room's 4004
// message (changemask 64, filevaultinfo) that the saving client sends.
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { files, roomFileEntries } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import type { DevicePrincipal } from "../devices/devices.service.ts";
import { getConversation } from "../conversations/conversations.service.ts";
import { getNetwork } from "../networks/networks.service.ts";
import { readableFile } from "./files.service.ts";

type Entry = typeof roomFileEntries.$inferSelect;
export interface EntryView {
  id: string;
  parentId: string | null;
  kind: "folder" | "file";
  name: string;
  fileId: string | null;
  size: number;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

function view(e: Entry): EntryView {
  return { id: e.id, parentId: e.parentId || null, kind: e.kind, name: e.name, fileId: e.fileId, size: e.size, createdBy: e.createdBy, createdAt: e.createdAt, updatedAt: e.updatedAt };
}

function fail(field: string, rule: string, message: string): never {
  throw new AppError("validation_failed", `${field}: ${message}`, [{ path: field, rule, message }]);
}

function checkName(name: string): string {
  const n = name.trim();
  if (!n) fail("name", "required", "must not be empty");
  if (n.length > 255) fail("name", "max", "at most 255 characters");
  // Names are single path segments so folders stay a tree a client can render as paths.
  if (/[/\\\u0000-\u001f]/.test(n) || n === "." || n === "..") fail("name", "format", "no slashes, control characters, '.' or '..'");
  return n;
}

/** The room (caller a member) with the network's switch on; `moderator` also requires that role. */
function room(ctx: AppContext, me: DevicePrincipal, roomId: string, moderator: boolean) {
  const conv = getConversation(ctx, me, roomId);
  if (conv.kind !== "room") throw new AppError("not_found", `${roomId} is not a room; only rooms have a Files area`);
  if (!getNetwork(ctx, me.networkId).fileManagement) throw new AppError("forbidden", "file management is switched off for this network");
  if (moderator && conv.members.find((m) => m.userId === me.userId)?.role !== "moderator") throw new AppError("forbidden", "only a moderator of this room can change its Files area");
  return conv;
}

function entry(ctx: AppContext, roomId: string, id: string, field = "id"): Entry {
  const e = ctx.storage.read().select().from(roomFileEntries).where(and(eq(roomFileEntries.roomId, roomId), eq(roomFileEntries.id, id))).get();
  if (!e) throw new AppError("not_found", `${field}: no entry ${id} in this room's Files area`);
  return e;
}

function folder(ctx: AppContext, roomId: string, parentId: string | null | undefined): string {
  if (!parentId) return "";
  const e = entry(ctx, roomId, parentId, "parentId");
  if (e.kind !== "folder") fail("parentId", "folder", "the parent must be a folder");
  return e.id;
}

function unique<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (/UNIQUE constraint/i.test((e as Error).message)) throw new AppError("conflict", "name: an entry with this name already exists in that folder", [{ path: "name", rule: "unique", message: "already taken in that folder" }]);
    throw e;
  }
}

export function listRoomFiles(ctx: AppContext, me: DevicePrincipal, roomId: string, opts: { parentId?: string; limit: number; after?: string }) {
  room(ctx, me, roomId, false);
  const parent = folder(ctx, roomId, opts.parentId);
  const rows = ctx.storage
    .read()
    .select()
    .from(roomFileEntries)
    .where(and(eq(roomFileEntries.roomId, roomId), eq(roomFileEntries.parentId, parent), opts.after ? gt(roomFileEntries.name, opts.after) : undefined))
    .orderBy(asc(roomFileEntries.name))
    .limit(opts.limit + 1)
    .all();
  const items = rows.slice(0, opts.limit).map(view);
  return { items, next: rows.length > opts.limit ? items[items.length - 1]!.name : null };
}

/**
 * The entries among `ids` that exist in this room's Files area (members): a client checks a
 * file key it received from another member against this before keeping or handing it on.
 */
export function lookupRoomEntries(ctx: AppContext, me: DevicePrincipal, roomId: string, ids: string[]) {
  room(ctx, me, roomId, false);
  const rows = ctx.storage.read().select().from(roomFileEntries).where(and(eq(roomFileEntries.roomId, roomId), inArray(roomFileEntries.id, [...new Set(ids)]))).all();
  return { items: rows.map(view) };
}

export async function createFolder(ctx: AppContext, me: DevicePrincipal, roomId: string, input: { name: string; parentId?: string }) {
  room(ctx, me, roomId, true);
  const parentId = folder(ctx, roomId, input.parentId);
  const now = Date.now();
  const row: Entry = { id: crypto.randomUUID(), roomId, parentId, kind: "folder", name: checkName(input.name), fileId: null, size: 0, createdBy: me.userId, createdAt: now, updatedAt: now };
  await ctx.writer.run(() => unique(() => ctx.storage.writeDb.insert(roomFileEntries).values(row).run()));
  return view(row);
}

/** Adds a file the moderator can read (uploaded for this room, or saved from a message) to the Files area. */
export async function addRoomFile(ctx: AppContext, me: DevicePrincipal, roomId: string, input: { name: string; fileId: string; parentId?: string }) {
  room(ctx, me, roomId, true);
  const parentId = folder(ctx, roomId, input.parentId);
  const file = readableFile(ctx, me, input.fileId);
  const now = Date.now();
  const row: Entry = { id: crypto.randomUUID(), roomId, parentId, kind: "file", name: checkName(input.name), fileId: file.id, size: file.size, createdBy: me.userId, createdAt: now, updatedAt: now };
  await ctx.writer.run(() =>
    unique(() => {
      ctx.storage.writeDb.insert(roomFileEntries).values(row).run();
      ctx.storage.writeDb.update(files).set({ referencedAt: now }).where(eq(files.id, file.id)).run();
    }),
  );
  return view(row);
}

/** Rename and/or move; a folder cannot move into itself or below itself. */
export async function updateRoomEntry(ctx: AppContext, me: DevicePrincipal, roomId: string, id: string, patch: { name?: string; parentId?: string | null }) {
  room(ctx, me, roomId, true);
  const e = entry(ctx, roomId, id);
  if (patch.name === undefined && patch.parentId === undefined) fail("(body)", "min", "nothing to change");
  const name = patch.name !== undefined ? checkName(patch.name) : e.name;
  const parentId = patch.parentId !== undefined ? folder(ctx, roomId, patch.parentId) : e.parentId;
  if (e.kind === "folder" && parentId) {
    for (let p = parentId; p; p = entry(ctx, roomId, p).parentId) if (p === e.id) fail("parentId", "cycle", "a folder cannot move into itself or one of its subfolders");
  }
  await ctx.writer.run(() =>
    unique(() => ctx.storage.writeDb.update(roomFileEntries).set({ name, parentId, updatedAt: Date.now() }).where(eq(roomFileEntries.id, id)).run()),
  );
  return view(entry(ctx, roomId, id));
}

/** Deletes an entry (a folder with everything below it); files no longer referred to are swept with their chunks. */
export async function deleteRoomEntry(ctx: AppContext, me: DevicePrincipal, roomId: string, id: string) {
  room(ctx, me, roomId, true);
  entry(ctx, roomId, id);
  const ids = [id];
  const db = ctx.storage.read();
  for (let frontier = [id]; frontier.length; ) {
    frontier = db.select({ id: roomFileEntries.id }).from(roomFileEntries).where(and(eq(roomFileEntries.roomId, roomId), inArray(roomFileEntries.parentId, frontier))).all().map((r) => r.id);
    ids.push(...frontier);
  }
  await ctx.writer.run(() => ctx.storage.writeDb.delete(roomFileEntries).where(inArray(roomFileEntries.id, ids)).run());
  return { deleted: ids.length };
}

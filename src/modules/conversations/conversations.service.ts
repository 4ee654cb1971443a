// Conversations the relay routes: direct messages (id derived from the two users), groups
// (every member manages them) and rooms (up to 500 members; only moderators change title,
// description, members, expiration and burn-on-read). Contents never pass through here.
import { and, eq, gt, inArray, sql } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { directConversationId, newGroupId, newRoomId } from "../../crypto/index.ts";
import { conversationMembers, conversations, users } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { relayHooks } from "../../relay/hooks.ts";
import { getSecurityGroup } from "../security-groups/security-groups.service.ts";
import type { DevicePrincipal } from "../devices/devices.service.ts";

export const MAX_ROOM_MEMBERS = 500;
export const MAX_GROUP_MEMBERS = 500;

type Kind = (typeof conversations.$inferSelect)["kind"];
export interface ConversationView {
  id: string;
  kind: Kind;
  title: string;
  description: string;
  ttl: number;
  bor: number;
  createdBy: string;
  members: { userId: string; role: "member" | "moderator" }[];
}

function fail(field: string, rule: string, message: string): never {
  throw new AppError("validation_failed", `${field}: ${message}`, [{ path: field, rule, message }]);
}

/**
 * Expiration above the caller's security-group maximum is clamped to it (never refused):
 * the relay does the same to every packet, so the rule is the same everywhere.
 */
function clampTtl(ctx: AppContext, me: DevicePrincipal, ttl: number): number {
  const max = getSecurityGroup(ctx, me.networkId, me.securityGroupId).settings.messaging.maxExpirationSeconds;
  return ttl === 0 ? 0 : Math.min(ttl, max);
}

function requireUsers(ctx: AppContext, networkId: string, ids: string[], field: string) {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return unique;
  const found = new Set(
    ctx.storage.read().select({ id: users.id }).from(users).where(and(eq(users.networkId, networkId), inArray(users.id, unique))).all().map((r) => r.id),
  );
  const missing = unique.filter((id) => !found.has(id));
  if (missing.length) throw new AppError("not_found", `${field}: no user ${missing[0]} in this network`, [{ path: field, rule: "exists", message: `unknown users: ${missing.slice(0, 5).join(", ")}` }]);
  return unique;
}

export function getConversation(ctx: AppContext, me: DevicePrincipal, id: string): ConversationView {
  const db = ctx.storage.read();
  const row = db.select().from(conversations).where(eq(conversations.id, id)).get();
  const members = row ? db.select({ userId: conversationMembers.userId, role: conversationMembers.role }).from(conversationMembers).where(eq(conversationMembers.conversationId, id)).all() : [];
  // Non-members learn nothing, not even that the conversation exists.
  if (!row || row.networkId !== me.networkId || !members.some((m) => m.userId === me.userId)) throw new AppError("not_found", `no conversation ${id} of yours`);
  return { id: row.id, kind: row.kind, title: row.title, description: row.description, ttl: row.ttl, bor: row.bor, createdBy: row.createdBy, members };
}

export function listConversations(ctx: AppContext, me: DevicePrincipal, opts: { limit: number; after?: string }) {
  const rows = ctx.storage
    .read()
    .select({ id: conversations.id, kind: conversations.kind, title: conversations.title, updatedAt: conversations.updatedAt })
    .from(conversationMembers)
    .innerJoin(conversations, eq(conversations.id, conversationMembers.conversationId))
    .where(and(eq(conversationMembers.userId, me.userId), opts.after ? gt(conversations.id, opts.after) : undefined))
    .orderBy(conversations.id)
    .limit(opts.limit + 1)
    .all();
  const items = rows.slice(0, opts.limit).map((r) => ({ id: r.id, kind: r.kind, title: r.title }));
  return { items, next: rows.length > opts.limit ? items[items.length - 1]!.id : null };
}

/** Opens (or returns) the direct conversation with another user of the network. */
export async function openDirect(ctx: AppContext, me: DevicePrincipal, otherUserId: string): Promise<ConversationView> {
  requireUsers(ctx, me.networkId, [otherUserId], "userId");
  const id = await directConversationId(me.userId, otherUserId);
  const now = new Date();
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    if (db.select({ id: conversations.id }).from(conversations).where(eq(conversations.id, id)).get()) return;
    db.insert(conversations).values({ id, networkId: me.networkId, kind: "direct", createdBy: me.userId, createdAt: now, updatedAt: now }).run();
    for (const userId of new Set([me.userId, otherUserId])) db.insert(conversationMembers).values({ conversationId: id, userId, role: "member", joinedAt: now }).run();
  });
  relayHooks(ctx).membersChanged(id);
  return getConversation(ctx, me, id);
}

export interface CreateInput {
  title?: string;
  description?: string;
  memberIds: string[];
  moderatorIds?: string[];
  ttl?: number;
  bor?: number;
}

export async function createConversation(ctx: AppContext, me: DevicePrincipal, kind: "group" | "room", input: CreateInput): Promise<ConversationView> {
  const memberIds = requireUsers(ctx, me.networkId, [me.userId, ...input.memberIds, ...(input.moderatorIds ?? [])], "memberIds");
  const limit = kind === "room" ? MAX_ROOM_MEMBERS : MAX_GROUP_MEMBERS;
  if (memberIds.length > limit) fail("memberIds", "max", `a ${kind} has at most ${limit} members (this would have ${memberIds.length})`);
  if (kind === "room" && !input.title?.trim()) fail("title", "required", "a room needs a title");
  const moderators = new Set(kind === "room" ? [me.userId, ...(input.moderatorIds ?? [])] : []);
  const id = kind === "room" ? await newRoomId() : await newGroupId();
  const now = new Date();
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    db.insert(conversations)
      .values({ id, networkId: me.networkId, kind, title: input.title?.trim() ?? "", description: input.description ?? "", ttl: clampTtl(ctx, me, input.ttl ?? 0), bor: input.bor ?? 0, createdBy: me.userId, createdAt: now, updatedAt: now })
      .run();
    for (const userId of memberIds) db.insert(conversationMembers).values({ conversationId: id, userId, role: moderators.has(userId) ? "moderator" : "member", joinedAt: now }).run();
  });
  return getConversation(ctx, me, id);
}

/** Rooms: moderators only. Groups: any member. Direct messages: either side (expiration and burn-on-read only). */
function requireManager(view: ConversationView, me: DevicePrincipal, what: string) {
  if (view.kind === "room" && view.members.find((m) => m.userId === me.userId)?.role !== "moderator") {
    throw new AppError("forbidden", `only a moderator of this room can change its ${what}`);
  }
}

export async function updateConversation(ctx: AppContext, me: DevicePrincipal, id: string, patch: { title?: string; description?: string; ttl?: number; bor?: number }) {
  const view = getConversation(ctx, me, id);
  const changed = Object.keys(patch).filter((k) => patch[k as keyof typeof patch] !== undefined);
  if (changed.length === 0) fail("(body)", "min", "nothing to change");
  requireManager(view, me, changed.join(", "));
  if (view.kind === "direct" && (patch.title !== undefined || patch.description !== undefined)) fail("title", "direct", "a direct conversation has no title or description");
  if (view.kind === "room" && patch.title !== undefined && !patch.title.trim()) fail("title", "required", "a room needs a title");
  await ctx.writer.run(() => {
    ctx.storage.writeDb
      .update(conversations)
      .set({
        ...(patch.title !== undefined ? { title: patch.title.trim() } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.ttl !== undefined ? { ttl: clampTtl(ctx, me, patch.ttl) } : {}),
        ...(patch.bor !== undefined ? { bor: patch.bor } : {}),
        updatedAt: new Date(),
      })
      .where(eq(conversations.id, id))
      .run();
  });
  return getConversation(ctx, me, id);
}

export async function changeMembers(ctx: AppContext, me: DevicePrincipal, id: string, change: { add?: string[]; remove?: string[]; moderators?: string[] }) {
  const view = getConversation(ctx, me, id);
  if (view.kind === "direct") throw new AppError("forbidden", "a direct conversation always has exactly its two users");
  requireManager(view, me, "members");
  if (view.kind === "group" && change.moderators?.length) fail("moderators", "group", "groups have no moderators");
  const add = requireUsers(ctx, me.networkId, [...(change.add ?? []), ...(change.moderators ?? [])], "add");
  const remove = new Set(change.remove ?? []);
  const next = new Set(view.members.map((m) => m.userId));
  for (const u of add) next.add(u);
  for (const u of remove) next.delete(u);
  const limit = view.kind === "room" ? MAX_ROOM_MEMBERS : MAX_GROUP_MEMBERS;
  if (next.size > limit) fail("add", "max", `a ${view.kind} has at most ${limit} members (this would have ${next.size})`);
  const now = new Date();
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    for (const u of add) db.insert(conversationMembers).values({ conversationId: id, userId: u, role: "member", joinedAt: now }).onConflictDoNothing().run();
    for (const u of change.moderators ?? []) db.update(conversationMembers).set({ role: "moderator" }).where(and(eq(conversationMembers.conversationId, id), eq(conversationMembers.userId, u))).run();
    if (remove.size) db.delete(conversationMembers).where(and(eq(conversationMembers.conversationId, id), inArray(conversationMembers.userId, [...remove]))).run();
    db.update(conversations).set({ updatedAt: now }).where(eq(conversations.id, id)).run();
  });
  relayHooks(ctx).membersChanged(id);
  return getConversation(ctx, me, id);
}

/** Called after a member left a conversation (default rooms put their members back). */
export const leaveHooks: ((ctx: AppContext, conversationId: string, userId: string) => Promise<void>)[] = [];

export async function leaveConversation(ctx: AppContext, me: DevicePrincipal, id: string) {
  const view = getConversation(ctx, me, id);
  if (view.kind === "direct") throw new AppError("forbidden", "a direct conversation cannot be left");
  await ctx.writer.run(() => {
    ctx.storage.writeDb.delete(conversationMembers).where(and(eq(conversationMembers.conversationId, id), eq(conversationMembers.userId, me.userId))).run();
    const { n } = ctx.storage.writeDb.select({ n: sql<number>`count(*)` }).from(conversationMembers).where(eq(conversationMembers.conversationId, id)).get()!;
    if (n === 0) ctx.storage.writeDb.delete(conversations).where(eq(conversations.id, id)).run();
  });
  relayHooks(ctx).membersChanged(id);
  for (const hook of leaveHooks) await hook(ctx, id, me.userId);
}

export async function deleteConversation(ctx: AppContext, me: DevicePrincipal, id: string) {
  const view = getConversation(ctx, me, id);
  if (view.kind !== "room") throw new AppError("forbidden", "only rooms can be deleted; leave a group instead");
  requireManager(view, me, "existence");
  await ctx.writer.run(() => ctx.storage.writeDb.delete(conversations).where(eq(conversations.id, id)).run());
  relayHooks(ctx).membersChanged(id);
}

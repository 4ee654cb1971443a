// Default rooms: rooms the network's room bot owns (it is their only moderator)
// whose members are every user of the network, or of one security group. Members
// are added when the room is made and whenever the directory changes, and put back
// when they leave. Needs the room bot, which a super administrator turns on.
import { and, eq, inArray, ne } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { conversationMembers, conversations, defaultRooms, users } from "../../db/schema/index.ts";
import { newRoomId } from "../../crypto/index.ts";
import { AppError } from "../../http/errors.ts";
import { relayHooks } from "../../relay/hooks.ts";
import { auditIn, type Actor } from "../audit/audit.service.ts";
import { randomSecret } from "../admins/admins.service.ts";
import { MAX_ROOM_MEMBERS, leaveHooks } from "../conversations/conversations.service.ts";
import { isRoomBotEnabled } from "../settings/settings.service.ts";
import { getSecurityGroup } from "../security-groups/security-groups.service.ts";
import { createUser, findUserByUsername } from "../users/users.service.ts";

export const ROOM_BOT_USERNAME = "roomsbot";

export interface DefaultRoom {
  id: string;
  conversationId: string;
  title: string;
  securityGroupId: string | null;
  memberCount: number;
}

/** The network's room bot user (created on first use; it never signs in, so its password is random and discarded). */
async function roomBot(ctx: AppContext, networkId: string): Promise<string> {
  const found = findUserByUsername(ctx, networkId, ROOM_BOT_USERNAME);
  if (found) return found.id;
  const bot = await createUser(ctx, { networkId, username: ROOM_BOT_USERNAME, password: `Rb1!${randomSecret(24)}Aa`, firstName: "Room bot", type: "bot" });
  await ctx.writer.run(() => ctx.storage.writeDb.update(users).set({ status: "active" }).where(eq(users.id, bot.id)).run());
  return bot.id;
}

function eligible(ctx: AppContext, networkId: string, securityGroupId: string | null): string[] {
  const where = and(eq(users.networkId, networkId), ne(users.type, "bot"), ne(users.status, "suspended"), ...(securityGroupId ? [eq(users.securityGroupId, securityGroupId)] : []));
  return ctx.storage.read().select({ id: users.id }).from(users).where(where).all().map((r) => r.id);
}

export function listDefaultRooms(ctx: AppContext, networkId: string): DefaultRoom[] {
  const db = ctx.storage.read();
  return db
    .select({ id: defaultRooms.id, conversationId: defaultRooms.conversationId, securityGroupId: defaultRooms.securityGroupId, title: conversations.title })
    .from(defaultRooms)
    .innerJoin(conversations, eq(conversations.id, defaultRooms.conversationId))
    .where(eq(defaultRooms.networkId, networkId))
    .all()
    .map((r) => ({ ...r, memberCount: db.select({ u: conversationMembers.userId }).from(conversationMembers).where(eq(conversationMembers.conversationId, r.conversationId)).all().length }));
}

export async function createDefaultRoom(ctx: AppContext, actor: Actor, networkId: string, input: { title: string; securityGroupId?: string | null | undefined }): Promise<DefaultRoom> {
  if (!isRoomBotEnabled(ctx)) throw new AppError("conflict", "default rooms need the room bot, which a super administrator has not turned on");
  const title = input.title.trim();
  if (!title || title.length > 100) throw new AppError("validation_failed", "title: must be 1 to 100 characters", [{ path: "title", rule: "length", message: "must be 1 to 100 characters" }]);
  const groupId = input.securityGroupId || null;
  if (groupId) getSecurityGroup(ctx, networkId, groupId);
  const members = eligible(ctx, networkId, groupId);
  if (members.length + 1 > MAX_ROOM_MEMBERS) throw new AppError("conflict", `a room has at most ${MAX_ROOM_MEMBERS} members; this one would have ${members.length + 1}`);
  const botId = await roomBot(ctx, networkId);
  const conversationId = await newRoomId();
  const id = crypto.randomUUID();
  const now = new Date();
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    db.insert(conversations).values({ id: conversationId, networkId, kind: "room", title, description: "", ttl: 0, bor: 0, createdBy: botId, createdAt: now, updatedAt: now }).run();
    db.insert(conversationMembers).values({ conversationId, userId: botId, role: "moderator", joinedAt: now }).run();
    for (const u of members) db.insert(conversationMembers).values({ conversationId, userId: u, role: "member", joinedAt: now }).run();
    db.insert(defaultRooms).values({ id, networkId, securityGroupId: groupId, conversationId, createdAt: now }).run();
    auditIn(ctx, { actor, action: "default_room.create", target: `room ${title}`, networkId, details: { securityGroupId: groupId, members: members.length } });
  });
  return listDefaultRooms(ctx, networkId).find((r) => r.id === id)!;
}

export async function deleteDefaultRoom(ctx: AppContext, actor: Actor, networkId: string, id: string): Promise<void> {
  const room = listDefaultRooms(ctx, networkId).find((r) => r.id === id);
  if (!room) throw new AppError("not_found", `no default room ${id} in this network`);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.delete(conversations).where(eq(conversations.id, room.conversationId)).run();
    ctx.storage.writeDb.delete(defaultRooms).where(eq(defaultRooms.id, id)).run();
    auditIn(ctx, { actor, action: "default_room.delete", target: `room ${room.title}`, networkId });
  });
  relayHooks(ctx).membersChanged(room.conversationId);
}

/** Brings every default room of the network to its eligible members (adds the missing, removes who left the group). */
export async function syncDefaultRooms(ctx: AppContext, networkId: string): Promise<void> {
  const rooms = ctx.storage.read().select().from(defaultRooms).where(eq(defaultRooms.networkId, networkId)).all();
  for (const room of rooms) {
    const want = new Set(eligible(ctx, networkId, room.securityGroupId));
    const now = new Date();
    let changed = false;
    await ctx.writer.run(() => {
      const db = ctx.storage.writeDb;
      const have = db.select({ u: conversationMembers.userId, role: conversationMembers.role }).from(conversationMembers).where(eq(conversationMembers.conversationId, room.conversationId)).all();
      const haveSet = new Set(have.map((h) => h.u));
      const missing = [...want].filter((u) => !haveSet.has(u)).slice(0, Math.max(0, MAX_ROOM_MEMBERS - have.length));
      const extra = have.filter((h) => h.role !== "moderator" && !want.has(h.u)).map((h) => h.u);
      for (const u of missing) db.insert(conversationMembers).values({ conversationId: room.conversationId, userId: u, role: "member", joinedAt: now }).onConflictDoNothing().run();
      if (extra.length) db.delete(conversationMembers).where(and(eq(conversationMembers.conversationId, room.conversationId), inArray(conversationMembers.userId, extra))).run();
      changed = missing.length > 0 || extra.length > 0;
    });
    if (changed) relayHooks(ctx).membersChanged(room.conversationId);
  }
}

// Someone who leaves a default room is put back at once.
leaveHooks.push(async (ctx, conversationId) => {
  const room = ctx.storage.read().select({ networkId: defaultRooms.networkId }).from(defaultRooms).where(eq(defaultRooms.conversationId, conversationId)).get();
  if (room) await syncDefaultRooms(ctx, room.networkId);
});

// What a network administrator may do and to which network: membership checks
// (the one rule behind every network-scoped route), administrator invitations,
// per-network options (file management, event-logging verbosity), blocked
// guests, security tags and network-scoped API tokens.
import { and, asc, desc, eq, inArray, ne, sql } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import {
  administrators,
  apiTokens,
  conversationMembers,
  guestBlocks,
  networkAdministrators,
  networkInvitations,
  networkOptions,
  networks,
  securityGroupTags,
  securityTags,
  users,
} from "../../db/schema/index.ts";
import { eventLoggingLevels } from "../../db/schema/network-admin.ts";
import { AppError } from "../../http/errors.ts";
import { auditIn, type Actor } from "../audit/audit.service.ts";
import { randomSecret, sha256Hex } from "../admins/admins.service.ts";
import { SUPER_ROLE_ID } from "../access/permissions.ts";
import { TOKEN_PREFIX } from "../access/tokens.service.ts";
import { getNetwork, type Network } from "../networks/networks.service.ts";
import { verbosityIncludes } from "../../log/logger.ts";

export type EventLogging = (typeof eventLoggingLevels)[number];

/** True when the administrator is assigned to the network (the whole authorisation rule). */
export function isNetworkAdmin(ctx: AppContext, adminId: string, networkId: string): boolean {
  return !!ctx.storage.read().select({ a: networkAdministrators.adminId }).from(networkAdministrators).where(and(eq(networkAdministrators.adminId, adminId), eq(networkAdministrators.networkId, networkId))).get();
}

// ---- Invitations ("grant admin privileges"): an existing network administrator is invited, then accepts.

export async function inviteAdministrator(ctx: AppContext, actor: Actor, networkId: string, username: string): Promise<{ adminId: string; username: string }> {
  const a = ctx.storage.read().select().from(administrators).where(eq(administrators.username, username.trim().toLowerCase())).get();
  if (!a || a.kind !== "network") throw new AppError("validation_failed", "username: no network administrator with this username", [{ path: "username", rule: "exists", message: "no network administrator with this username" }]);
  if (isNetworkAdmin(ctx, a.id, networkId)) throw new AppError("conflict", `${a.username} already administers this network`, [{ path: "username", rule: "unique", message: "already administers this network" }]);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.insert(networkInvitations).values({ networkId, adminId: a.id, invitedBy: actor.id, createdAt: new Date() }).onConflictDoNothing().run();
    auditIn(ctx, { actor, action: "network.invite_admin", target: `admin ${a.username}`, networkId });
  });
  return { adminId: a.id, username: a.username };
}

export function listInvitationsOf(ctx: AppContext, adminId: string): Network[] {
  return ctx.storage.read().select({ n: networks }).from(networkInvitations).innerJoin(networks, eq(networks.id, networkInvitations.networkId)).where(eq(networkInvitations.adminId, adminId)).orderBy(asc(networks.name)).all().map((r) => r.n);
}

export function listNetworkInvitations(ctx: AppContext, networkId: string): { adminId: string; username: string; name: string; createdAt: Date }[] {
  return ctx.storage
    .read()
    .select({ adminId: administrators.id, username: administrators.username, name: administrators.name, createdAt: networkInvitations.createdAt })
    .from(networkInvitations)
    .innerJoin(administrators, eq(administrators.id, networkInvitations.adminId))
    .where(eq(networkInvitations.networkId, networkId))
    .orderBy(asc(administrators.username))
    .all();
}

/** Accepting needs an invitation addressed to this administrator; declining just drops it. */
export async function answerInvitation(ctx: AppContext, actor: Actor & { id: string }, networkId: string, accept: boolean): Promise<void> {
  const inv = ctx.storage.read().select().from(networkInvitations).where(and(eq(networkInvitations.networkId, networkId), eq(networkInvitations.adminId, actor.id))).get();
  if (!inv) throw new AppError("not_found", "no invitation into this network for you");
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    db.delete(networkInvitations).where(and(eq(networkInvitations.networkId, networkId), eq(networkInvitations.adminId, actor.id))).run();
    if (accept) db.insert(networkAdministrators).values({ networkId, adminId: actor.id, createdAt: new Date() }).onConflictDoNothing().run();
    auditIn(ctx, { actor, action: accept ? "network.accept_invitation" : "network.decline_invitation", target: `network ${networkId}`, networkId });
  });
}

// ---- Options: file management and event-logging verbosity.

export interface NetworkOptions {
  fileManagement: boolean;
  eventLogging: EventLogging;
}

export function networkOptionsOf(ctx: AppContext, networkId: string): NetworkOptions {
  const row = ctx.storage.read().select().from(networkOptions).where(eq(networkOptions.networkId, networkId)).get();
  // The file management switch lives on the network itself (the Files area reads it there).
  return { fileManagement: getNetwork(ctx, networkId).fileManagement, eventLogging: row?.eventLogging ?? ctx.config.eventLogging };
}

/**
 * The running server logs at the most detailed level any network chose (one process
 * serves every network), or the configured level when none chose; applied at once.
 */
export function applyEventLogging(ctx: AppContext): EventLogging {
  let level: EventLogging = ctx.config.eventLogging;
  for (const r of ctx.storage.read().select({ l: networkOptions.eventLogging }).from(networkOptions).all()) {
    if (r.l && !verbosityIncludes(level, r.l)) level = r.l;
  }
  ctx.log.verbosity.level = level;
  return level;
}

export async function updateNetworkOptions(ctx: AppContext, actor: Actor, networkId: string, patch: Partial<NetworkOptions>): Promise<NetworkOptions> {
  getNetwork(ctx, networkId);
  const current = networkOptionsOf(ctx, networkId);
  const next = { ...current, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as NetworkOptions;
  await ctx.writer.run(() => {
    const now = new Date();
    ctx.storage.writeDb.update(networks).set({ fileManagement: next.fileManagement, updatedAt: now }).where(eq(networks.id, networkId)).run();
    ctx.storage.writeDb
      .insert(networkOptions)
      .values({ networkId, eventLogging: next.eventLogging, updatedAt: now })
      .onConflictDoUpdate({ target: networkOptions.networkId, set: { eventLogging: next.eventLogging, updatedAt: now } })
      .run();
    auditIn(ctx, { actor, action: "network.update_options", target: `network ${networkId}`, networkId, details: { ...patch } });
  });
  if (patch.eventLogging !== undefined) {
    const running = applyEventLogging(ctx);
    ctx.log.logger.info({ networkId, eventLogging: patch.eventLogging, running }, "event-logging verbosity changed");
  }
  return next;
}

// ---- Guests: users of other networks who share a conversation with this network's users.

export interface Guest {
  userId: string;
  username: string;
  networkId: string;
  networkName: string;
  blocked: boolean;
}

export function listGuests(ctx: AppContext, networkId: string, page: { limit: number; offset: number }): { items: Guest[]; total: number } {
  const db = ctx.storage.read();
  // Conversations that have at least one member of this network…
  const mine = db.select({ c: conversationMembers.conversationId }).from(conversationMembers).innerJoin(users, eq(users.id, conversationMembers.userId)).where(eq(users.networkId, networkId));
  // …and their members from elsewhere, plus anyone already blocked.
  const talked = db.selectDistinct({ id: users.id }).from(conversationMembers).innerJoin(users, eq(users.id, conversationMembers.userId)).where(and(inArray(conversationMembers.conversationId, mine), ne(users.networkId, networkId))).all().map((r) => r.id);
  const blocked = db.select({ id: guestBlocks.guestUserId }).from(guestBlocks).where(eq(guestBlocks.networkId, networkId)).all().map((r) => r.id);
  const ids = [...new Set([...talked, ...blocked])];
  const blockedSet = new Set(blocked);
  if (!ids.length) return { items: [], total: 0 };
  const rows = db
    .select({ userId: users.id, username: users.username, networkId: users.networkId, networkName: networks.name })
    .from(users)
    .innerJoin(networks, eq(networks.id, users.networkId))
    .where(inArray(users.id, ids))
    .orderBy(asc(users.username))
    .limit(page.limit)
    .offset(page.offset)
    .all();
  return { items: rows.map((r) => ({ ...r, blocked: blockedSet.has(r.userId) })), total: ids.length };
}

/** Blocks a guest (a user of another network) from reaching anyone in this network. */
export async function blockGuest(ctx: AppContext, actor: Actor, networkId: string, guestUserId: string, block: boolean): Promise<void> {
  const g = ctx.storage.read().select({ id: users.id, username: users.username, networkId: users.networkId }).from(users).where(eq(users.id, guestUserId)).get();
  // A user of this network is not a guest; an unknown id is just unknown.
  if (!g || g.networkId === networkId) throw new AppError("not_found", `no guest ${guestUserId}`);
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    if (block) db.insert(guestBlocks).values({ networkId, guestUserId, blockedBy: actor.id, createdAt: new Date() }).onConflictDoNothing().run();
    else db.delete(guestBlocks).where(and(eq(guestBlocks.networkId, networkId), eq(guestBlocks.guestUserId, guestUserId))).run();
    auditIn(ctx, { actor, action: block ? "guest.block" : "guest.unblock", target: `guest ${g.username}`, networkId, details: { guestNetworkId: g.networkId } });
  });
  blockedCaches.get(ctx)?.delete(networkId);
}

/** A guest named by their network id and username (how another network's user is known here). */
export function findGuest(ctx: AppContext, networkId: string, guestNetworkId: string, username: string): { id: string } {
  const errs = [];
  if (!guestNetworkId.trim()) errs.push({ path: "guestNetworkId", rule: "required", message: "enter the guest's network id" });
  if (!username.trim()) errs.push({ path: "username", rule: "required", message: "enter the guest's username" });
  if (errs.length) throw new AppError("validation_failed", `${errs[0]!.path}: ${errs[0]!.message}`, errs);
  if (guestNetworkId.trim() === networkId) throw new AppError("validation_failed", "guestNetworkId: that is this network; guests come from other networks", [{ path: "guestNetworkId", rule: "other_network", message: "that is this network; guests come from other networks" }]);
  const u = ctx.storage.read().select({ id: users.id }).from(users).where(and(eq(users.networkId, guestNetworkId.trim()), eq(users.username, username.trim().toLowerCase()))).get();
  if (!u) throw new AppError("validation_failed", "username: no such user in that network", [{ path: "username", rule: "exists", message: "no such user in that network" }]);
  return u;
}

const blockedCaches = new WeakMap<AppContext, Map<string, Set<string>>>();

/** The relay's check: is this sender blocked by the network the conversation belongs to? (cached per network) */
export function isGuestBlocked(ctx: AppContext, networkId: string, userId: string): boolean {
  let cache = blockedCaches.get(ctx);
  if (!cache) blockedCaches.set(ctx, (cache = new Map()));
  let set = cache.get(networkId);
  if (!set) {
    set = new Set(ctx.storage.read().select({ id: guestBlocks.guestUserId }).from(guestBlocks).where(eq(guestBlocks.networkId, networkId)).all().map((r) => r.id));
    cache.set(networkId, set);
  }
  return set.has(userId);
}

// ---- Security tags.

export interface SecurityTag {
  id: string;
  name: string;
  kind: "network" | "override";
  colour: string;
  groupIds: string[];
}

const COLOUR = /^#[0-9a-f]{6}$/;

function cleanTag(input: { name: string; kind: string; colour: string }) {
  const name = input.name.trim();
  const errs = [];
  if (!name || name.length > 50) errs.push({ path: "name", rule: "length", message: "must be 1 to 50 characters" });
  if (input.kind !== "network" && input.kind !== "override") errs.push({ path: "kind", rule: "enum", message: 'must be "network" or "override"' });
  const colour = input.colour.trim().toLowerCase();
  if (!COLOUR.test(colour)) errs.push({ path: "colour", rule: "format", message: "must be a colour such as #1f6feb" });
  if (errs.length) throw new AppError("validation_failed", `${errs[0]!.path}: ${errs[0]!.message}`, errs);
  return { name, kind: input.kind as "network" | "override", colour };
}

export function listTags(ctx: AppContext, networkId: string): SecurityTag[] {
  const db = ctx.storage.read();
  const links = db.select({ t: securityGroupTags.tagId, g: securityGroupTags.groupId }).from(securityGroupTags).innerJoin(securityTags, eq(securityTags.id, securityGroupTags.tagId)).where(eq(securityTags.networkId, networkId)).all();
  return db
    .select()
    .from(securityTags)
    .where(eq(securityTags.networkId, networkId))
    .orderBy(asc(securityTags.name))
    .all()
    .map((t) => ({ id: t.id, name: t.name, kind: t.kind, colour: t.colour, groupIds: links.filter((l) => l.t === t.id).map((l) => l.g) }));
}

export function getTag(ctx: AppContext, networkId: string, id: string): SecurityTag {
  const t = listTags(ctx, networkId).find((x) => x.id === id);
  if (!t) throw new AppError("not_found", `no security tag ${id} in this network`);
  return t;
}

export async function createTag(ctx: AppContext, actor: Actor, networkId: string, input: { name: string; kind: string; colour: string }): Promise<SecurityTag> {
  const t = cleanTag(input);
  const id = crypto.randomUUID();
  await ctx.writer.run(() => {
    const n = ctx.storage.writeDb.select({ n: sql<number>`count(*)` }).from(securityTags).where(eq(securityTags.networkId, networkId)).get()?.n ?? 0;
    if (n >= 100) throw new AppError("conflict", "a network has at most 100 security tags");
    ctx.storage.writeDb.insert(securityTags).values({ id, networkId, ...t, createdAt: new Date() }).run();
    auditIn(ctx, { actor, action: "security_tag.create", target: `security tag ${t.name}`, networkId });
  });
  return getTag(ctx, networkId, id);
}

export async function updateTag(ctx: AppContext, actor: Actor, networkId: string, id: string, input: { name: string; kind: string; colour: string }): Promise<SecurityTag> {
  getTag(ctx, networkId, id);
  const t = cleanTag(input);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(securityTags).set(t).where(and(eq(securityTags.networkId, networkId), eq(securityTags.id, id))).run();
    auditIn(ctx, { actor, action: "security_tag.update", target: `security tag ${t.name}`, networkId });
  });
  return getTag(ctx, networkId, id);
}

export async function deleteTag(ctx: AppContext, actor: Actor, networkId: string, id: string): Promise<void> {
  const t = getTag(ctx, networkId, id);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.delete(securityTags).where(and(eq(securityTags.networkId, networkId), eq(securityTags.id, id))).run();
    auditIn(ctx, { actor, action: "security_tag.delete", target: `security tag ${t.name}`, networkId });
  });
}

/** Tags shown with a user: the override tags of their group if it has any, else the group's network tags. */
export function tagsOfGroup(tags: SecurityTag[], groupId: string): SecurityTag[] {
  const mine = tags.filter((t) => t.groupIds.includes(groupId));
  const overrides = mine.filter((t) => t.kind === "override");
  return overrides.length ? overrides : mine;
}

// ---- Network-scoped API tokens: they act as an administrator of this one network.

export interface NetworkTokenInfo {
  id: string;
  label: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export function listNetworkTokens(ctx: AppContext, networkId: string): NetworkTokenInfo[] {
  return ctx.storage
    .read()
    .select({ id: apiTokens.id, label: apiTokens.label, prefix: apiTokens.prefix, createdAt: apiTokens.createdAt, lastUsedAt: apiTokens.lastUsedAt })
    .from(apiTokens)
    .where(eq(apiTokens.networkId, networkId))
    .orderBy(desc(apiTokens.createdAt))
    .all();
}

export async function createNetworkToken(ctx: AppContext, actor: Actor, networkId: string, labelIn: string): Promise<{ token: string; info: NetworkTokenInfo }> {
  const label = labelIn.trim();
  if (!label || label.length > 100) throw new AppError("validation_failed", "label: must be 1 to 100 characters", [{ path: "label", rule: "length", message: "must be 1 to 100 characters" }]);
  const token = TOKEN_PREFIX + randomSecret(24);
  const now = new Date();
  // The role column is required; a network token's reach is its network, not the role's permissions
  // (requirePermission refuses network tokens on every deployment-wide endpoint).
  const row = { id: crypto.randomUUID(), label, tokenHash: await sha256Hex(token), prefix: token.slice(0, 10), roleId: SUPER_ROLE_ID, networkId, createdBy: actor.type === "admin" ? actor.id : null, createdAt: now, lastUsedAt: null };
  await ctx.writer.run(() => {
    ctx.storage.writeDb.insert(apiTokens).values(row).run();
    auditIn(ctx, { actor, action: "network_token.create", target: `token ${label}`, networkId, details: { prefix: row.prefix } });
  });
  return { token, info: { id: row.id, label, prefix: row.prefix, createdAt: now, lastUsedAt: null } };
}

export async function revokeNetworkToken(ctx: AppContext, actor: Actor, networkId: string, id: string): Promise<void> {
  const t = ctx.storage.read().select().from(apiTokens).where(and(eq(apiTokens.id, id), eq(apiTokens.networkId, networkId))).get();
  if (!t) throw new AppError("not_found", `no API token ${id} in this network`);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.delete(apiTokens).where(eq(apiTokens.id, id)).run();
    auditIn(ctx, { actor, action: "network_token.revoke", target: `token ${t.label}`, networkId, details: { prefix: t.prefix } });
  });
}

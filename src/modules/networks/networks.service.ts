// Networks: creating one also creates its default security group, which
// always exists and cannot be deleted. Super administrators create, rename
// and delete networks and choose their administrators.
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { administrators, networkAdministrators, networks, securityGroups, users } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { auditIn, systemActor, type Actor } from "../audit/audit.service.ts";
import { defaultSecurityGroupSettings } from "../security-groups/settings.ts";

export type Network = typeof networks.$inferSelect;

// A DNS name: labels of letters, digits and dashes, at least one dot.
const DOMAIN_RE = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

function cleanName(name: string): string {
  const n = name.trim();
  if (!n || n.length > 100) throw new AppError("validation_failed", "name: must be 1 to 100 characters", [{ path: "name", rule: "length", message: "must be 1 to 100 characters" }]);
  return n;
}

function cleanDomain(domain: string | null | undefined): string | null {
  const d = domain?.trim().toLowerCase() ?? "";
  if (!d) return null;
  if (!DOMAIN_RE.test(d)) throw new AppError("validation_failed", "federationDomain: must be a domain name such as chat.example.org", [{ path: "federationDomain", rule: "domain", message: "must be a domain name such as chat.example.org" }]);
  return d;
}

function checkAdminIds(ctx: AppContext, adminIds: string[]): string[] {
  const ids = [...new Set(adminIds)];
  if (!ids.length) return ids;
  const found = ctx.storage.read().select({ id: administrators.id, kind: administrators.kind }).from(administrators).where(inArray(administrators.id, ids)).all();
  const ok = new Set(found.filter((a) => a.kind === "network").map((a) => a.id));
  const bad = ids.filter((id) => !ok.has(id));
  if (bad.length) throw new AppError("validation_failed", `adminIds: not network administrators: ${bad.join(", ")}`, [{ path: "adminIds", rule: "exists", message: `not network administrators: ${bad.join(", ")}` }]);
  return ids;
}

export interface NewNetwork {
  name: string;
  federationDomain?: string | null;
  adminIds?: string[];
}

/** Validates a new network; `insertNetworkIn` then writes it inside the caller's write. */
export function prepareNetwork(ctx: AppContext, input: NewNetwork): { network: Network; adminIds: string[] } {
  const name = input.name.trim();
  if (!name) throw new AppError("validation_failed", "name: must not be empty", [{ path: "name", rule: "min", message: "must not be empty" }]);
  cleanName(name);
  const federationDomain = cleanDomain(input.federationDomain);
  const adminIds = checkAdminIds(ctx, input.adminIds ?? []);
  const now = new Date();
  return { network: { id: crypto.randomUUID(), name, federationDomain, readReceipts: true, fileManagement: false, createdAt: now, updatedAt: now }, adminIds };
}

export function insertNetworkIn(ctx: AppContext, prepared: { network: Network; adminIds: string[] }, actor?: Actor): void {
  const { network, adminIds } = prepared;
  const db = ctx.storage.writeDb;
  db.insert(networks).values(network).run();
  db.insert(securityGroups)
    .values({ id: crypto.randomUUID(), networkId: network.id, name: "Default", isDefault: true, settings: defaultSecurityGroupSettings(), createdAt: network.createdAt, updatedAt: network.createdAt })
    .run();
  for (const adminId of adminIds) db.insert(networkAdministrators).values({ networkId: network.id, adminId, createdAt: network.createdAt }).run();
  if (actor) auditIn(ctx, { actor, action: "network.create", target: `network ${network.name}`, networkId: network.id, details: { federationDomain: network.federationDomain, adminIds } });
}

export async function createNetwork(ctx: AppContext, input: NewNetwork, actor?: Actor): Promise<Network> {
  const prepared = prepareNetwork(ctx, input);
  await ctx.writer.run(() => insertNetworkIn(ctx, prepared, actor));
  return prepared.network;
}

export function getNetwork(ctx: AppContext, id: string): Network {
  const row = ctx.storage.read().select().from(networks).where(eq(networks.id, id)).get();
  if (!row) throw new AppError("not_found", `no network with id ${id}`);
  return row;
}

export function listNetworks(ctx: AppContext): Network[] {
  return ctx.storage.read().select().from(networks).orderBy(networks.name).all();
}

export interface NetworkSummary extends Network {
  administrators: { id: string; username: string; name: string }[];
  userCount: number;
  securityGroupCount: number;
}

export function networkSummary(ctx: AppContext, id: string): NetworkSummary {
  const n = getNetwork(ctx, id);
  const db = ctx.storage.read();
  return {
    ...n,
    administrators: db
      .select({ id: administrators.id, username: administrators.username, name: administrators.name })
      .from(networkAdministrators)
      .innerJoin(administrators, eq(networkAdministrators.adminId, administrators.id))
      .where(eq(networkAdministrators.networkId, id))
      .orderBy(asc(administrators.username))
      .all(),
    userCount: db.select({ n: sql<number>`count(*)` }).from(users).where(eq(users.networkId, id)).get()?.n ?? 0,
    securityGroupCount: db.select({ n: sql<number>`count(*)` }).from(securityGroups).where(eq(securityGroups.networkId, id)).get()?.n ?? 0,
  };
}

export function listNetworkSummaries(ctx: AppContext, page: { limit: number; offset: number }): { items: NetworkSummary[]; total: number } {
  const db = ctx.storage.read();
  const ids = db.select({ id: networks.id }).from(networks).orderBy(asc(networks.name)).limit(page.limit).offset(page.offset).all();
  const total = db.select({ n: sql<number>`count(*)` }).from(networks).get()?.n ?? 0;
  return { items: ids.map((r) => networkSummary(ctx, r.id)), total };
}

/** Networks an administrator is assigned to (their landing page lists these). */
export function networksOfAdmin(ctx: AppContext, adminId: string): Network[] {
  return ctx.storage
    .read()
    .select({ n: networks })
    .from(networkAdministrators)
    .innerJoin(networks, eq(networkAdministrators.networkId, networks.id))
    .where(eq(networkAdministrators.adminId, adminId))
    .orderBy(asc(networks.name))
    .all()
    .map((r) => r.n);
}

export async function renameNetwork(ctx: AppContext, actor: Actor, id: string, input: { name: string; federationDomain?: string | null | undefined }): Promise<Network> {
  const before = getNetwork(ctx, id);
  const name = cleanName(input.name);
  const federationDomain = input.federationDomain === undefined ? before.federationDomain : cleanDomain(input.federationDomain);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(networks).set({ name, federationDomain, updatedAt: new Date() }).where(eq(networks.id, id)).run();
    auditIn(ctx, { actor, action: "network.rename", target: `network ${name}`, networkId: id, details: { from: before.name, federationDomain } });
  });
  return getNetwork(ctx, id);
}

export async function setNetworkAdministrators(ctx: AppContext, actor: Actor, id: string, adminIds: string[]): Promise<NetworkSummary> {
  const n = getNetwork(ctx, id);
  const ids = checkAdminIds(ctx, adminIds);
  const now = new Date();
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    db.delete(networkAdministrators).where(eq(networkAdministrators.networkId, id)).run();
    for (const adminId of ids) db.insert(networkAdministrators).values({ networkId: id, adminId, createdAt: now }).run();
    auditIn(ctx, { actor, action: "network.set_admins", target: `network ${n.name}`, networkId: id, details: { adminIds: ids } });
  });
  return networkSummary(ctx, id);
}

/** Deletes a network with its users, security groups and administrator assignments (administrators themselves stay). */
export async function deleteNetwork(ctx: AppContext, actor: Actor, id: string): Promise<void> {
  const s = networkSummary(ctx, id);
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    // Users reference security groups without cascade, so they go first.
    db.delete(users).where(eq(users.networkId, id)).run();
    db.delete(networks).where(and(eq(networks.id, id))).run();
    auditIn(ctx, { actor, action: "network.delete", target: `network ${s.name}`, networkId: id, details: { users: s.userCount, securityGroups: s.securityGroupCount, administrators: s.administrators.length } });
  });
}

/** Network-wide switches clients honour (read receipts are also enforced by the relay). */
export async function updateNetwork(ctx: AppContext, id: string, patch: { name?: string | undefined; readReceipts?: boolean | undefined; fileManagement?: boolean | undefined }, actor: Actor = systemActor): Promise<Network> {
  const before = getNetwork(ctx, id);
  if (patch.name !== undefined) cleanName(patch.name);
  await ctx.writer.run(() => {
    auditIn(ctx, { actor, action: "network.update_profile", target: `network ${before.name}`, networkId: id, details: { ...(patch.name !== undefined ? { name: patch.name.trim() } : {}), ...(patch.readReceipts !== undefined ? { readReceipts: patch.readReceipts } : {}), ...(patch.fileManagement !== undefined ? { fileManagement: patch.fileManagement } : {}) } });
    ctx.storage.writeDb
      .update(networks)
      .set({ ...(patch.name !== undefined ? { name: patch.name.trim() } : {}), ...(patch.readReceipts !== undefined ? { readReceipts: patch.readReceipts } : {}), ...(patch.fileManagement !== undefined ? { fileManagement: patch.fileManagement } : {}), updatedAt: new Date() })
      .where(eq(networks.id, id))
      .run();
  });
  return getNetwork(ctx, id);
}

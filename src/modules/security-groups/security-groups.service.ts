// Security groups of a network and the settings that apply to their members.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { securityGroupTags, securityGroups, securityTags, users } from "../../db/schema/index.ts";
import { auditIn, type Actor } from "../audit/audit.service.ts";
import { AppError } from "../../http/errors.ts";
import { securityGroupSettingsSchema, type SecurityGroupSettings } from "./settings.ts";

export interface SecurityGroup {
  id: string;
  networkId: string;
  name: string;
  isDefault: boolean;
  settings: SecurityGroupSettings;
}

function toGroup(row: typeof securityGroups.$inferSelect): SecurityGroup {
  // Stored settings were validated on write; parsing again fills defaults added since.
  return { id: row.id, networkId: row.networkId, name: row.name, isDefault: row.isDefault, settings: securityGroupSettingsSchema.parse(row.settings) };
}

export function getSecurityGroup(ctx: AppContext, networkId: string, id: string): SecurityGroup {
  const row = ctx.storage.read().select().from(securityGroups).where(and(eq(securityGroups.networkId, networkId), eq(securityGroups.id, id))).get();
  if (!row) throw new AppError("not_found", `no security group ${id} in this network`);
  return toGroup(row);
}

export function defaultSecurityGroup(ctx: AppContext, networkId: string): SecurityGroup {
  const row = ctx.storage.read().select().from(securityGroups).where(and(eq(securityGroups.networkId, networkId), eq(securityGroups.isDefault, true))).get();
  if (!row) throw new AppError("not_found", `network ${networkId} has no default security group`);
  return toGroup(row);
}

export function listSecurityGroups(ctx: AppContext, networkId: string): SecurityGroup[] {
  return ctx.storage.read().select().from(securityGroups).where(eq(securityGroups.networkId, networkId)).orderBy(securityGroups.name).all().map(toGroup);
}

/** Replaces a group's settings (validated; defaults fill what is left out). */
export async function updateSecurityGroupSettings(ctx: AppContext, networkId: string, id: string, settings: unknown): Promise<SecurityGroup> {
  getSecurityGroup(ctx, networkId, id);
  const parsed = securityGroupSettingsSchema.safeParse(settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError("validation_failed", `settings.${issue.path.join(".")}: ${issue.message}`, parsed.error.issues.map((i) => ({ path: ["settings", ...i.path].join("."), rule: i.code, message: i.message })));
  }
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(securityGroups).set({ settings: parsed.data, updatedAt: new Date() }).where(and(eq(securityGroups.networkId, networkId), eq(securityGroups.id, id))).run();
  });
  return getSecurityGroup(ctx, networkId, id);
}

// ---- Administration (network console and API): create, rename, delete, member counts, tags.

export const MAX_SECURITY_GROUPS = 100;

export interface SecurityGroupSummary extends SecurityGroup {
  memberCount: number;
  tagIds: string[];
}

function cleanGroupName(name: string): string {
  const n = name.trim();
  if (!n || n.length > 100) throw new AppError("validation_failed", "name: must be 1 to 100 characters", [{ path: "name", rule: "length", message: "must be 1 to 100 characters" }]);
  return n;
}

export function listSecurityGroupSummaries(ctx: AppContext, networkId: string): SecurityGroupSummary[] {
  const db = ctx.storage.read();
  const counts = new Map(db.select({ g: users.securityGroupId, n: sql<number>`count(*)` }).from(users).where(eq(users.networkId, networkId)).groupBy(users.securityGroupId).all().map((r) => [r.g, r.n]));
  const tags = new Map<string, string[]>();
  for (const r of db.select({ g: securityGroupTags.groupId, t: securityGroupTags.tagId }).from(securityGroupTags).innerJoin(securityGroups, eq(securityGroups.id, securityGroupTags.groupId)).where(eq(securityGroups.networkId, networkId)).all()) {
    tags.set(r.g, [...(tags.get(r.g) ?? []), r.t]);
  }
  return listSecurityGroups(ctx, networkId).map((g) => ({ ...g, memberCount: counts.get(g.id) ?? 0, tagIds: tags.get(g.id) ?? [] }));
}

export function securityGroupSummary(ctx: AppContext, networkId: string, id: string): SecurityGroupSummary {
  const g = listSecurityGroupSummaries(ctx, networkId).find((x) => x.id === id);
  if (!g) throw new AppError("not_found", `no security group ${id} in this network`);
  return g;
}

function parseSettings(settings: unknown): SecurityGroupSettings {
  const parsed = securityGroupSettingsSchema.safeParse(settings ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError("validation_failed", `settings.${issue.path.join(".")}: ${issue.message}`, parsed.error.issues.map((i) => ({ path: ["settings", ...i.path].join("."), rule: i.code, message: i.message })));
  }
  return parsed.data;
}

function checkTags(ctx: AppContext, networkId: string, tagIds: string[]): string[] {
  const ids = [...new Set(tagIds)];
  if (!ids.length) return ids;
  const found = new Set(ctx.storage.read().select({ id: securityTags.id }).from(securityTags).where(and(eq(securityTags.networkId, networkId), inArray(securityTags.id, ids))).all().map((r) => r.id));
  const bad = ids.filter((i) => !found.has(i));
  if (bad.length) throw new AppError("validation_failed", `tagIds: no such security tags in this network: ${bad.join(", ")}`, [{ path: "tagIds", rule: "exists", message: `unknown: ${bad.join(", ")}` }]);
  return ids;
}

export async function createSecurityGroup(ctx: AppContext, actor: Actor, networkId: string, input: { name: string; settings?: unknown; tagIds?: string[] | undefined }): Promise<SecurityGroupSummary> {
  const name = cleanGroupName(input.name);
  const settings = parseSettings(input.settings);
  const tagIds = checkTags(ctx, networkId, input.tagIds ?? []);
  const id = crypto.randomUUID();
  const now = new Date();
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    const n = db.select({ n: sql<number>`count(*)` }).from(securityGroups).where(eq(securityGroups.networkId, networkId)).get()?.n ?? 0;
    if (n >= MAX_SECURITY_GROUPS) throw new AppError("conflict", `a network has at most ${MAX_SECURITY_GROUPS} security groups`);
    if (db.select({ id: securityGroups.id }).from(securityGroups).where(and(eq(securityGroups.networkId, networkId), eq(securityGroups.name, name))).get()) {
      throw new AppError("conflict", `a security group named "${name}" already exists`, [{ path: "name", rule: "unique", message: "already exists" }]);
    }
    db.insert(securityGroups).values({ id, networkId, name, isDefault: false, settings, createdAt: now, updatedAt: now }).run();
    for (const t of tagIds) db.insert(securityGroupTags).values({ groupId: id, tagId: t }).run();
    auditIn(ctx, { actor, action: "security_group.create", target: `security group ${name}`, networkId });
  });
  return securityGroupSummary(ctx, networkId, id);
}

/** Renames, replaces settings and/or tags; each part is optional. */
export async function updateSecurityGroup(ctx: AppContext, actor: Actor, networkId: string, id: string, patch: { name?: string | undefined; settings?: unknown; tagIds?: string[] | undefined }): Promise<SecurityGroupSummary> {
  const g = getSecurityGroup(ctx, networkId, id);
  const name = patch.name !== undefined ? cleanGroupName(patch.name) : undefined;
  const settings = patch.settings !== undefined ? parseSettings(patch.settings) : undefined;
  const tagIds = patch.tagIds !== undefined ? checkTags(ctx, networkId, patch.tagIds) : undefined;
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    if (name && name !== g.name && db.select({ id: securityGroups.id }).from(securityGroups).where(and(eq(securityGroups.networkId, networkId), eq(securityGroups.name, name))).get()) {
      throw new AppError("conflict", `a security group named "${name}" already exists`, [{ path: "name", rule: "unique", message: "already exists" }]);
    }
    db.update(securityGroups).set({ ...(name ? { name } : {}), ...(settings ? { settings } : {}), updatedAt: new Date() }).where(and(eq(securityGroups.networkId, networkId), eq(securityGroups.id, id))).run();
    if (tagIds) {
      db.delete(securityGroupTags).where(eq(securityGroupTags.groupId, id)).run();
      for (const t of tagIds) db.insert(securityGroupTags).values({ groupId: id, tagId: t }).run();
    }
    auditIn(ctx, { actor, action: "security_group.update", target: `security group ${name ?? g.name}`, networkId, details: { renamed: !!name && name !== g.name, settings: !!settings, tags: !!tagIds } });
  });
  return securityGroupSummary(ctx, networkId, id);
}

/** Deletes a group; its members move to the Default group, which itself cannot be deleted. */
export async function deleteSecurityGroup(ctx: AppContext, actor: Actor, networkId: string, id: string): Promise<{ movedUsers: number }> {
  const g = getSecurityGroup(ctx, networkId, id);
  if (g.isDefault) throw new AppError("conflict", "the Default security group cannot be deleted");
  const def = defaultSecurityGroup(ctx, networkId);
  let moved = 0;
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    moved = db.select({ n: sql<number>`count(*)` }).from(users).where(eq(users.securityGroupId, id)).get()?.n ?? 0;
    db.update(users).set({ securityGroupId: def.id, updatedAt: new Date() }).where(eq(users.securityGroupId, id)).run();
    db.delete(securityGroups).where(and(eq(securityGroups.networkId, networkId), eq(securityGroups.id, id))).run();
    auditIn(ctx, { actor, action: "security_group.delete", target: `security group ${g.name}`, networkId, details: { movedUsers: moved } });
  });
  return { movedUsers: moved };
}

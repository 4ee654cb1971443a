// API access tokens: created with a label and a role, shown once, stored as
// SHA-256, listed with their last use, revocable. `Authorization: Bearer`.
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { apiTokens, roles } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { randomSecret, sha256Hex } from "../admins/admins.service.ts";
import { auditIn, type Actor } from "../audit/audit.service.ts";
import { assertCanGrant, getRole, rolePermissions } from "./roles.service.ts";
import { SUPER_ROLE_ID } from "./permissions.ts";

export const TOKEN_PREFIX = "opt_";

export interface ApiTokenInfo {
  id: string;
  label: string;
  prefix: string;
  roleId: string;
  roleName: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface TokenPrincipal {
  tokenId: string;
  label: string;
  networkId: string | null;
  permissions: Set<string>;
}

export function listTokens(ctx: AppContext, page: { limit: number; offset: number } = { limit: 1000, offset: 0 }): { items: ApiTokenInfo[]; total: number } {
  const db = ctx.storage.read();
  const total = db.select({ n: sql<number>`count(*)` }).from(apiTokens).where(isNull(apiTokens.networkId)).get()?.n ?? 0;
  const items = db
    .select({ t: apiTokens, roleName: roles.name })
    .from(apiTokens)
    .innerJoin(roles, eq(apiTokens.roleId, roles.id))
    .where(isNull(apiTokens.networkId))
    .orderBy(asc(apiTokens.createdAt))
    .limit(page.limit)
    .offset(page.offset)
    .all()
    .map(({ t, roleName }) => ({ id: t.id, label: t.label, prefix: t.prefix, roleId: t.roleId, roleName, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt }));
  return { items, total };
}

/** Creates a deployment-wide token; the returned secret is never retrievable again. */
export async function createToken(ctx: AppContext, actor: Actor, input: { label: string; roleId?: string | undefined }): Promise<{ token: string; info: ApiTokenInfo }> {
  const label = input.label.trim();
  if (!label || label.length > 100) throw new AppError("validation_failed", "label: must be 1 to 100 characters", [{ path: "label", rule: "length", message: "must be 1 to 100 characters" }]);
  const role = getRole(ctx, input.roleId ?? SUPER_ROLE_ID);
  assertCanGrant(actor, role.permissions, `a token with the role ${role.name}`);
  const token = TOKEN_PREFIX + randomSecret(24);
  const tokenHash = await sha256Hex(token);
  const now = new Date();
  const row = { id: crypto.randomUUID(), label, tokenHash, prefix: token.slice(0, 10), roleId: role.id, networkId: null, createdBy: actor.type === "admin" ? actor.id : null, createdAt: now, lastUsedAt: null };
  await ctx.writer.run(() => {
    ctx.storage.writeDb.insert(apiTokens).values(row).run();
    auditIn(ctx, { actor, action: "token.create", target: `token ${label}`, details: { role: role.name, prefix: row.prefix } });
  });
  return { token, info: { id: row.id, label, prefix: row.prefix, roleId: role.id, roleName: role.name, createdAt: now, lastUsedAt: null } };
}

export async function revokeToken(ctx: AppContext, actor: Actor, id: string): Promise<void> {
  const t = ctx.storage.read().select().from(apiTokens).where(and(eq(apiTokens.id, id), isNull(apiTokens.networkId))).get();
  if (!t) throw new AppError("not_found", `no API token with id ${id}`);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.delete(apiTokens).where(eq(apiTokens.id, id)).run();
    auditIn(ctx, { actor, action: "token.revoke", target: `token ${t.label}`, details: { prefix: t.prefix } });
  });
}

/** Resolves a bearer token; records its use (at most once a minute, to keep reads cheap). */
export async function authenticateToken(ctx: AppContext, token: string): Promise<TokenPrincipal | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return null;
  const hash = await sha256Hex(token);
  const t = ctx.storage.read().select().from(apiTokens).where(eq(apiTokens.tokenHash, hash)).get();
  if (!t) return null;
  const now = Date.now();
  if (!t.lastUsedAt || now - t.lastUsedAt.getTime() > 60_000) {
    void ctx.writer.run(() => ctx.storage.writeDb.update(apiTokens).set({ lastUsedAt: new Date(now) }).where(eq(apiTokens.id, t.id)).run()).catch(() => {});
  }
  return { tokenId: t.id, label: t.label, networkId: t.networkId, permissions: rolePermissions(ctx, t.roleId) };
}

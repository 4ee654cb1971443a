// Roles: named sets of permissions assigned to administrators and API tokens.
// The built-in Super administrator role always holds every permission.
import { asc, eq } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { administrators, apiTokens, roles } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { auditIn, type Actor } from "../audit/audit.service.ts";
import { SUPER_ROLE_ID, SUPER_ROLE_NAME, allPermissions, isPermission, type Permission } from "./permissions.ts";

export interface Role {
  id: string;
  name: string;
  builtIn: boolean;
  permissions: Permission[];
}

function toRole(r: typeof roles.$inferSelect): Role {
  return { id: r.id, name: r.name, builtIn: r.builtIn, permissions: r.builtIn ? [...allPermissions] : r.permissions.filter(isPermission) };
}

/** Start-up: makes sure the built-in role exists. */
export async function ensureBuiltInRole(ctx: AppContext): Promise<void> {
  const now = new Date();
  await ctx.writer.run(() =>
    ctx.storage.writeDb.insert(roles).values({ id: SUPER_ROLE_ID, name: SUPER_ROLE_NAME, builtIn: true, permissions: [], createdAt: now, updatedAt: now }).onConflictDoNothing().run(),
  );
}

export function listRoles(ctx: AppContext): Role[] {
  return ctx.storage.read().select().from(roles).orderBy(asc(roles.name)).all().map(toRole);
}

export function getRole(ctx: AppContext, id: string): Role {
  const r = ctx.storage.read().select().from(roles).where(eq(roles.id, id)).get();
  if (!r) throw new AppError("not_found", `no role with id ${id}`, [{ path: "roleId", rule: "exists", message: "no such role" }]);
  return toRole(r);
}

/** Permissions of a role id; an unknown or missing role grants nothing. */
export function rolePermissions(ctx: AppContext, roleId: string | null): Set<string> {
  if (!roleId) return new Set();
  const r = ctx.storage.read().select().from(roles).where(eq(roles.id, roleId)).get();
  return new Set(r ? toRole(r).permissions : []);
}

/**
 * No one hands out more than they hold: granting a role (to a token or an
 * administrator), writing a role's permissions, or taking over an
 * administrator (password, role, deletion) needs every permission involved.
 */
export function assertCanGrant(actor: Actor, permissions: Iterable<string>, what: string): void {
  if (!actor.permissions) return;
  const missing = [...permissions].filter((p) => !actor.permissions!.has(p));
  if (missing.length) throw new AppError("forbidden", `${what} needs permissions you do not hold: ${missing.join(", ")}`, { missing });
}

function checkInput(input: { name: string; permissions: string[] }): { name: string; permissions: Permission[] } {
  const name = input.name.trim();
  if (!name || name.length > 80) throw new AppError("validation_failed", "name: must be 1 to 80 characters", [{ path: "name", rule: "length", message: "must be 1 to 80 characters" }]);
  const unknown = input.permissions.filter((p) => !isPermission(p));
  if (unknown.length) {
    throw new AppError("validation_failed", `permissions: unknown permission ${unknown.join(", ")}`, [{ path: "permissions", rule: "enum", message: `unknown: ${unknown.join(", ")}` }]);
  }
  return { name, permissions: [...new Set(input.permissions)] as Permission[] };
}

function nameTaken(ctx: AppContext, name: string, exceptId?: string): boolean {
  const r = ctx.storage.read().select({ id: roles.id }).from(roles).where(eq(roles.name, name)).get();
  return !!r && r.id !== exceptId;
}

const nameConflict = () => new AppError("conflict", "name: a role with this name exists", [{ path: "name", rule: "unique", message: "a role with this name exists" }]);

export async function createRole(ctx: AppContext, actor: Actor, input: { name: string; permissions: string[] }): Promise<Role> {
  const clean = checkInput(input);
  assertCanGrant(actor, clean.permissions, "this role");
  if (nameTaken(ctx, clean.name)) throw nameConflict();
  const now = new Date();
  const row = { id: crypto.randomUUID(), name: clean.name, builtIn: false, permissions: clean.permissions, createdAt: now, updatedAt: now };
  await ctx.writer.run(() => {
    ctx.storage.writeDb.insert(roles).values(row).run();
    auditIn(ctx, { actor, action: "role.create", target: `role ${clean.name}`, details: { permissions: clean.permissions } });
  });
  return toRole(row);
}

export async function updateRole(ctx: AppContext, actor: Actor, id: string, input: { name: string; permissions: string[] }): Promise<Role> {
  const role = getRole(ctx, id);
  if (role.builtIn) throw new AppError("conflict", "the built-in Super administrator role cannot be changed");
  const clean = checkInput(input);
  assertCanGrant(actor, [...clean.permissions, ...role.permissions], "changing this role");
  if (nameTaken(ctx, clean.name, id)) throw nameConflict();
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(roles).set({ name: clean.name, permissions: clean.permissions, updatedAt: new Date() }).where(eq(roles.id, id)).run();
    auditIn(ctx, { actor, action: "role.update", target: `role ${clean.name}`, details: { permissions: clean.permissions } });
  });
  return { ...role, ...clean };
}

export async function deleteRole(ctx: AppContext, actor: Actor, id: string): Promise<void> {
  const role = getRole(ctx, id);
  if (role.builtIn) throw new AppError("conflict", "the built-in Super administrator role cannot be deleted");
  assertCanGrant(actor, role.permissions, "deleting this role");
  const db = ctx.storage.read();
  const inUse = db.select({ id: administrators.id }).from(administrators).where(eq(administrators.roleId, id)).limit(1).get() ?? db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.roleId, id)).limit(1).get();
  if (inUse) throw new AppError("conflict", "the role is still assigned to administrators or API tokens; reassign them first");
  await ctx.writer.run(() => {
    ctx.storage.writeDb.delete(roles).where(eq(roles.id, id)).run();
    auditIn(ctx, { actor, action: "role.delete", target: `role ${role.name}` });
  });
}

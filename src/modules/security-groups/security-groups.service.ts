// Security groups of a network and the settings that apply to their members.
import { and, eq } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { securityGroups } from "../../db/schema/index.ts";
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

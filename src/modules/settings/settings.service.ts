// Deployment-wide settings the super administrator controls: private IP
// targets, the administrator password policy, the lockout threshold, the
// room bot, and the sign-in page's appearance. Stored as keys of `settings`.
import { eq } from "drizzle-orm";
import { z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { settings } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { auditIn, type Actor } from "../audit/audit.service.ts";
import { validateLogo } from "./logo.ts";

export const deploymentSettingsSchema = z
  .object({
    allowPrivateIps: z.boolean().describe("allow SSO and federation targets on private or loopback addresses"),
    adminPasswordMinLength: z.number().int().min(8).max(128).describe("shortest administrator password accepted"),
    adminPasswordRequireMix: z.boolean().describe("administrator passwords must mix lower case, upper case and digits"),
    lockoutThreshold: z.number().int().min(1).max(100).describe("failed sign-ins after which an administrator is locked"),
  })
  .strict();
export type DeploymentSettings = z.infer<typeof deploymentSettingsSchema>;

export const defaultDeploymentSettings: DeploymentSettings = {
  allowPrivateIps: false,
  adminPasswordMinLength: 12,
  adminPasswordRequireMix: true,
  lockoutThreshold: 5,
};

/** The administrator password policy in words, for form hints. */
export function adminPasswordRuleText(s: DeploymentSettings): string {
  return `At least ${s.adminPasswordMinLength} characters${s.adminPasswordRequireMix ? ", mixing lower case, upper case and digits" : ""}.`;
}

function readKey<T>(ctx: AppContext, key: string): T | undefined {
  return ctx.storage.read().select({ value: settings.value }).from(settings).where(eq(settings.key, key)).get()?.value as T | undefined;
}

function writeKey(ctx: AppContext, key: string, value: unknown) {
  const updatedAt = new Date();
  ctx.storage.writeDb.insert(settings).values({ key, value, updatedAt }).onConflictDoUpdate({ target: settings.key, set: { value, updatedAt } }).run();
}

export function getDeploymentSettings(ctx: AppContext): DeploymentSettings {
  return { ...defaultDeploymentSettings, ...(readKey<Partial<DeploymentSettings>>(ctx, "deployment") ?? {}) };
}

export async function updateDeploymentSettings(ctx: AppContext, actor: Actor, patch: Partial<DeploymentSettings>): Promise<DeploymentSettings> {
  const next = deploymentSettingsSchema.parse({ ...getDeploymentSettings(ctx), ...patch });
  await ctx.writer.run(() => {
    writeKey(ctx, "deployment", next);
    auditIn(ctx, { actor, action: "settings.update", target: "deployment", details: { ...patch } });
  });
  return next;
}

/** Off until a super administrator turns it on. */
export function isRoomBotEnabled(ctx: AppContext): boolean {
  return readKey<boolean>(ctx, "roomBot.enabled") ?? false;
}

export async function setRoomBotEnabled(ctx: AppContext, actor: Actor, enabled: boolean): Promise<void> {
  await ctx.writer.run(() => {
    writeKey(ctx, "roomBot.enabled", enabled);
    auditIn(ctx, { actor, action: enabled ? "roombot.enable" : "roombot.disable", target: "room bot" });
  });
}

export const LOGIN_TEXT_MAX = 1000;
export interface Appearance {
  loginText: string;
  logo: { type: "image/png" | "image/jpeg"; bytes: number; etag: string } | null;
}
interface StoredLogo {
  type: "image/png" | "image/jpeg";
  base64: string;
  etag: string;
}

export function getAppearance(ctx: AppContext): Appearance {
  const logo = readKey<StoredLogo>(ctx, "appearance.logo");
  return {
    loginText: readKey<string>(ctx, "appearance.loginText") ?? "",
    logo: logo ? { type: logo.type, bytes: Math.floor((logo.base64.length * 3) / 4), etag: logo.etag } : null,
  };
}

export function getLogo(ctx: AppContext): { type: string; body: Uint8Array; etag: string } | null {
  const logo = readKey<StoredLogo>(ctx, "appearance.logo");
  return logo ? { type: logo.type, body: Uint8Array.from(Buffer.from(logo.base64, "base64")), etag: logo.etag } : null;
}

export async function setLoginText(ctx: AppContext, actor: Actor, text: string): Promise<void> {
  const clean = text.replace(/\r\n/g, "\n").trim();
  if (clean.length > LOGIN_TEXT_MAX) {
    throw new AppError("validation_failed", `loginText: must be at most ${LOGIN_TEXT_MAX} characters`, [{ path: "loginText", rule: "max", message: `must be at most ${LOGIN_TEXT_MAX} characters` }]);
  }
  await ctx.writer.run(() => {
    writeKey(ctx, "appearance.loginText", clean);
    auditIn(ctx, { actor, action: "appearance.text", target: "sign-in page", details: { length: clean.length } });
  });
}

export async function setLogo(ctx: AppContext, actor: Actor, bytes: Uint8Array, declaredType?: string): Promise<void> {
  const type = validateLogo(bytes, declaredType);
  const etag = `"${new Bun.CryptoHasher("sha256").update(bytes).digest("hex").slice(0, 20)}"`;
  await ctx.writer.run(() => {
    writeKey(ctx, "appearance.logo", { type, base64: Buffer.from(bytes).toString("base64"), etag } satisfies StoredLogo);
    auditIn(ctx, { actor, action: "appearance.logo", target: "sign-in page", details: { type, bytes: bytes.length } });
  });
}

export async function removeLogo(ctx: AppContext, actor: Actor): Promise<void> {
  await ctx.writer.run(() => {
    ctx.storage.writeDb.delete(settings).where(eq(settings.key, "appearance.logo")).run();
    auditIn(ctx, { actor, action: "appearance.logo.remove", target: "sign-in page" });
  });
}

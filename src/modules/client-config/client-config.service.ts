// Client configuration files of a network: created for one security group with
// a name, an expiration period and a password (never stored), sealed once and
// kept as issued so re-download returns the same file; expire ends it early.
import { and, desc, eq, gt, isNull } from "drizzle-orm";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scrypt } from "node:crypto";
import type { AppContext } from "../../app/context.ts";
import { clientConfigs } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { auditIn, type Actor } from "../audit/audit.service.ts";
import { randomSecret } from "../admins/admins.service.ts";
import { getNetwork } from "../networks/networks.service.ts";
import { getSecurityGroup } from "../security-groups/security-groups.service.ts";
import { DEFAULT_LOG_N, sealClientConfig, type ClientConfigPayload, type Derive } from "./format.ts";

export const MAX_EXPIRY_DAYS = 365;

export interface ClientConfigInfo {
  id: string;
  name: string;
  securityGroupId: string;
  pinCertificates: boolean;
  publicId: string;
  expiresAt: Date;
  expiredAt: Date | null;
  createdAt: Date;
}

/** node:crypto's scrypt: the same bytes as the portable one in format.ts, several times faster on the server. */
const nodeDerive: Derive = (password, salt, logN) =>
  new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, 32, { N: 2 ** logN, r: 8, p: 1, maxmem: 2 ** (logN + 11) }, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key)))),
  );

/** The configured public URL; else the origin the administrator reached the server at (the listen port may be 0 = chosen at start). */
function serviceHost(ctx: AppContext, origin?: string): string {
  if (ctx.config.publicUrl) return ctx.config.publicUrl.replace(/\/$/, "");
  if (origin) return origin;
  const scheme = ctx.config.tls === "off" ? "http" : "https";
  return `${scheme}://${ctx.config.host}:${ctx.config.port}`;
}

function serverCertificates(ctx: AppContext): string[] {
  if (ctx.config.tls === "off") throw new AppError("validation_failed", "pinCertificates: this server does not serve TLS, so there is no certificate to pin", [{ path: "pinCertificates", rule: "tls", message: "the server does not serve TLS" }]);
  const path = ctx.config.tls === "files" ? ctx.config.tlsCert! : join(ctx.config.dataDir, "tls", "cert.pem");
  const pem = readFileSync(path, "utf8");
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

const info = (r: typeof clientConfigs.$inferSelect): ClientConfigInfo => ({ id: r.id, name: r.name, securityGroupId: r.securityGroupId, pinCertificates: r.pinCertificates, publicId: r.publicId, expiresAt: r.expiresAt, expiredAt: r.expiredAt, createdAt: r.createdAt });

export interface NewClientConfig {
  name: string;
  securityGroupId: string;
  expiresInDays: number;
  password: string;
  pinCertificates?: boolean | undefined;
}

export async function createClientConfig(ctx: AppContext, actor: Actor, networkId: string, input: NewClientConfig, opts: { logN?: number; origin?: string } = {}): Promise<{ info: ClientConfigInfo; file: string }> {
  const errs = [];
  const name = input.name.trim();
  if (!name || name.length > 100) errs.push({ path: "name", rule: "length", message: "must be 1 to 100 characters" });
  if (!Number.isInteger(input.expiresInDays) || input.expiresInDays < 1 || input.expiresInDays > MAX_EXPIRY_DAYS) errs.push({ path: "expiresInDays", rule: "range", message: `must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS}` });
  if (input.password.length < 8 || input.password.length > 256) errs.push({ path: "password", rule: "length", message: "must be 8 to 256 characters" });
  if (errs.length) throw new AppError("validation_failed", `${errs[0]!.path}: ${errs[0]!.message}`, errs);
  const group = getSecurityGroup(ctx, networkId, input.securityGroupId);
  const network = getNetwork(ctx, networkId);
  const now = new Date();
  const expiresAt = new Date(now.getTime() + input.expiresInDays * 86_400_000);
  const payload: ClientConfigPayload = {
    v: 1, name, networkId, networkName: network.name, securityGroupId: group.id, host: serviceHost(ctx, opts.origin),
    ...(input.pinCertificates ? { certificates: serverCertificates(ctx) } : {}),
    issuedAt: now.toISOString(), expiresAt: expiresAt.toISOString(),
  };
  const file = await sealClientConfig(payload, input.password, { logN: opts.logN ?? DEFAULT_LOG_N, derive: nodeDerive });
  const row = { id: crypto.randomUUID(), networkId, securityGroupId: group.id, name, file, pinCertificates: !!input.pinCertificates, publicId: randomSecret(16), expiresAt, expiredAt: null, createdAt: now };
  await ctx.writer.run(() => {
    ctx.storage.writeDb.insert(clientConfigs).values(row).run();
    auditIn(ctx, { actor, action: "client_config.create", target: `client configuration ${name}`, networkId, details: { securityGroup: group.name, expiresInDays: input.expiresInDays, pinCertificates: !!input.pinCertificates } });
  });
  return { info: info(row), file };
}

/** Active configurations: neither expired by date nor ended early. */
export function listClientConfigs(ctx: AppContext, networkId: string): ClientConfigInfo[] {
  return ctx.storage
    .read()
    .select()
    .from(clientConfigs)
    .where(and(eq(clientConfigs.networkId, networkId), isNull(clientConfigs.expiredAt), gt(clientConfigs.expiresAt, new Date())))
    .orderBy(desc(clientConfigs.createdAt))
    .all()
    .map(info);
}

function activeRow(row: typeof clientConfigs.$inferSelect | undefined, what: string) {
  if (!row) throw new AppError("not_found", `no client configuration ${what}`);
  if (row.expiredAt || row.expiresAt.getTime() <= Date.now()) throw new AppError("gone", `the client configuration "${row.name}" has expired; ask your administrator for a new one`);
  return row;
}

export function downloadClientConfig(ctx: AppContext, networkId: string, id: string): { name: string; file: string } {
  const row = activeRow(ctx.storage.read().select().from(clientConfigs).where(and(eq(clientConfigs.networkId, networkId), eq(clientConfigs.id, id))).get(), id);
  return { name: row.name, file: row.file };
}

/** The public landing page's view (by the unguessable public id), for people without a console account. */
export function publicClientConfig(ctx: AppContext, publicId: string): { name: string; file: string; networkName: string; expiresAt: Date } {
  const row = activeRow(ctx.storage.read().select().from(clientConfigs).where(eq(clientConfigs.publicId, publicId)).get(), "at this address");
  return { name: row.name, file: row.file, networkName: getNetwork(ctx, row.networkId).name, expiresAt: row.expiresAt };
}

export async function expireClientConfig(ctx: AppContext, actor: Actor, networkId: string, id: string): Promise<void> {
  const row = ctx.storage.read().select().from(clientConfigs).where(and(eq(clientConfigs.networkId, networkId), eq(clientConfigs.id, id))).get();
  if (!row) throw new AppError("not_found", `no client configuration ${id}`);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(clientConfigs).set({ expiredAt: new Date() }).where(eq(clientConfigs.id, id)).run();
    auditIn(ctx, { actor, action: "client_config.expire", target: `client configuration ${row.name}`, networkId });
  });
}

/** Deeplink a client opens to fetch the file from the landing page address. */
export function clientConfigDeeplink(ctx: AppContext, publicId: string, origin?: string): string {
  return `outpost://configure?url=${encodeURIComponent(`${serviceHost(ctx, origin)}/config/${publicId}/file`)}`;
}
export const configFileName = (name: string) => `${name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60) || "outpost"}.outpost-config`;

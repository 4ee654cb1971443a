// Administrators: the first super administrator, provisioning, password
// rules, sign-in with lockout and two-factor codes, sessions and local
// password recovery. The console, the REST API and the CLI call these.
import { and, asc, eq, gt, isNotNull, or, sql } from "drizzle-orm";
import { adminSessions, administrators, networkAdministrators, networks, roles } from "../../db/schema/index.ts";
import type { AppContext } from "../../app/context.ts";
import { AppError } from "../../http/errors.ts";
import { hashPassword, verifyPassword } from "../../security/passwords.ts";
import { openSecret, sealSecret } from "../../security/secret-box.ts";
import { auditIn, systemActor, type Actor } from "../audit/audit.service.ts";
import { SUPER_ROLE_ID } from "../access/permissions.ts";
import { assertCanGrant, rolePermissions } from "../access/roles.service.ts";
import { getDeploymentSettings, type DeploymentSettings } from "../settings/settings.service.ts";
import { newTotpSecret, totpQrSvg, totpStep, totpUri } from "./totp.ts";
import { insertNetworkIn, prepareNetwork } from "../networks/networks.service.ts";

export interface AdminPrincipal {
  id: string;
  username: string;
  name: string;
  kind: "super" | "network";
  mustChangePassword: boolean;
  csrfToken: string;
  sessionIdHash: string;
  totpEnabled: boolean;
  /** Deployment-wide permissions from the administrator's role (none for network administrators). */
  permissions: Set<string>;
}

export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60_000;
export const FIRST_ADMIN_USERNAME = "admin";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export function randomSecret(bytes = 16): string {
  return hex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A one-time password that is easy to type from a terminal: 4 groups of 5 unambiguous characters. */
export function oneTimePassword(): string {
  const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const out: string[] = [];
  const rnd = crypto.getRandomValues(new Uint32Array(20));
  for (let i = 0; i < 20; i++) out.push(alphabet[rnd[i]! % alphabet.length]!);
  return [0, 5, 10, 15].map((i) => out.slice(i, i + 5).join("")).join("-");
}

export async function sha256Hex(text: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

/** Administrator password policy (Settings: minimum length, mixed characters). */
export function checkAdminPassword(password: string, policy: Pick<DeploymentSettings, "adminPasswordMinLength" | "adminPasswordRequireMix"> = { adminPasswordMinLength: 12, adminPasswordRequireMix: true }): string | null {
  if (password.length < policy.adminPasswordMinLength) return `must be at least ${policy.adminPasswordMinLength} characters`;
  if (password.length > 256) return "must be at most 256 characters";
  if (policy.adminPasswordRequireMix && (!/[a-z]/.test(password) || !/[A-Z]/.test(password) || !/[0-9]/.test(password))) {
    return "must mix lower-case letters, upper-case letters and digits";
  }
  return null;
}

/** First start: creates the super administrator `admin` with a one-time password. Returns it once. */
export async function ensureFirstAdmin(ctx: AppContext): Promise<string | null> {
  const existing = ctx.storage.read().select({ id: administrators.id }).from(administrators).where(eq(administrators.kind, "super")).limit(1).all();
  if (existing.length > 0) return null;
  const password = oneTimePassword();
  const passwordHash = await hashPassword(password);
  const now = new Date();
  await ctx.writer.run(() =>
    ctx.storage.writeDb
      .insert(administrators)
      .values({ id: crypto.randomUUID(), username: FIRST_ADMIN_USERNAME, name: "Super administrator", kind: "super", roleId: SUPER_ROLE_ID, passwordHash, mustChangePassword: true, createdAt: now, updatedAt: now })
      .onConflictDoNothing()
      .run(),
  );
  return password;
}

/**
 * Local recovery: a new one-time password for `username`, which must be
 * changed at next sign-in. It also unlocks the account and removes two-factor
 * enrollment (a lost authenticator is the usual reason to be here).
 */
export async function resetAdminPassword(ctx: AppContext, username: string): Promise<string> {
  const admin = ctx.storage.read().select().from(administrators).where(eq(administrators.username, username)).get();
  if (!admin) throw new AppError("not_found", `no administrator named "${username}"`);
  const password = oneTimePassword();
  const passwordHash = await hashPassword(password);
  await ctx.writer.run(() => {
    ctx.storage.writeDb
      .update(administrators)
      .set({ passwordHash, mustChangePassword: true, failedSignIns: 0, lockedAt: null, totpSecret: null, totpPendingSecret: null, totpLastStep: null, updatedAt: new Date() })
      .where(eq(administrators.id, admin.id))
      .run();
    // Whoever held a session with the lost password is signed out.
    ctx.storage.writeDb.delete(adminSessions).where(eq(adminSessions.adminId, admin.id)).run();
    auditIn(ctx, { actor: systemActor, action: "admin.reset_password", target: `admin ${username}`, details: { via: "local command" } });
  });
  return password;
}

export interface SignInResult {
  sessionSecret: string;
  principal: AdminPrincipal;
}

// A fixed hash so that unknown usernames cost the same time as wrong passwords.
let dummyHash: Promise<string> | undefined;

type AdminRow = typeof administrators.$inferSelect;

function principalOf(ctx: AppContext, a: AdminRow, session: { csrfToken: string; idHash: string }): AdminPrincipal {
  return {
    id: a.id,
    username: a.username,
    name: a.name,
    kind: a.kind,
    mustChangePassword: a.mustChangePassword,
    csrfToken: session.csrfToken,
    sessionIdHash: session.idHash,
    totpEnabled: !!a.totpSecret,
    permissions: a.kind === "super" ? rolePermissions(ctx, a.roleId) : new Set(),
  };
}

/** Counts a failed sign-in; locks the account at the deployment's threshold. */
async function recordFailure(ctx: AppContext, admin: AdminRow, ip: string | undefined, reason: string): Promise<void> {
  const threshold = getDeploymentSettings(ctx).lockoutThreshold;
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    db.update(administrators).set({ failedSignIns: sql`${administrators.failedSignIns} + 1` }).where(eq(administrators.id, admin.id)).run();
    const row = db.select({ failed: administrators.failedSignIns, lockedAt: administrators.lockedAt }).from(administrators).where(eq(administrators.id, admin.id)).get();
    const actor: Actor = { type: "admin", id: admin.id, name: admin.username, ip };
    auditIn(ctx, { actor, action: "admin.sign_in_failed", target: `admin ${admin.username}`, details: { reason, failedSignIns: row?.failed ?? 0 } });
    if (row && !row.lockedAt && row.failed >= threshold) {
      db.update(administrators).set({ lockedAt: new Date() }).where(eq(administrators.id, admin.id)).run();
      // Ending the session too: a locked account must not keep working elsewhere.
      db.delete(adminSessions).where(eq(adminSessions.adminId, admin.id)).run();
      auditIn(ctx, { actor, action: "admin.locked", target: `admin ${admin.username}`, details: { failedSignIns: row.failed, threshold } });
    }
  });
}

export async function signIn(ctx: AppContext, input: { username: string; password: string; totpCode?: string | undefined; ip?: string; userAgent?: string }): Promise<SignInResult> {
  const admin = ctx.storage.read().select().from(administrators).where(eq(administrators.username, input.username.trim().toLowerCase())).get();
  if (!admin) {
    dummyHash ??= hashPassword(randomSecret());
    await verifyPassword(input.password, await dummyHash);
    throw new AppError("invalid_credentials", "the username or password is wrong");
  }
  if (admin.lockedAt) throw new AppError("account_locked", "this account is locked after too many failed sign-ins; a super administrator can unlock it");
  if (!(await verifyPassword(input.password, admin.passwordHash))) {
    await recordFailure(ctx, admin, input.ip, "password");
    throw new AppError("invalid_credentials", "the username or password is wrong");
  }
  let step: number | null = null;
  if (admin.totpSecret) {
    if (!input.totpCode) {
      throw new AppError("totp_required", "enter the 6-digit code from your authenticator app", [{ path: "totpCode", rule: "required", message: "enter the 6-digit code from your authenticator app" }]);
    }
    step = totpStep(openSecret(ctx.config.dataDir, admin.totpSecret), input.totpCode.trim());
    if (step === null || (admin.totpLastStep !== null && step <= admin.totpLastStep)) {
      await recordFailure(ctx, admin, input.ip, "two-factor code");
      throw new AppError("invalid_credentials", "the authentication code is wrong or was already used", [{ path: "totpCode", rule: "totp", message: "wrong or already used code" }]);
    }
  }
  const sessionSecret = randomSecret(16);
  const idHash = await sha256Hex(sessionSecret);
  const csrfToken = randomSecret(16);
  const now = new Date();
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    if (step !== null) {
      // Claim the step atomically: two concurrent sign-ins with one code cannot both win.
      const claimed = db
        .update(administrators)
        .set({ totpLastStep: step })
        .where(and(eq(administrators.id, admin.id), or(sql`${administrators.totpLastStep} is null`, sql`${administrators.totpLastStep} < ${step}`)))
        .returning({ id: administrators.id })
        .all();
      if (claimed.length === 0) throw new AppError("invalid_credentials", "the authentication code was already used", [{ path: "totpCode", rule: "totp", message: "wrong or already used code" }]);
    }
    // One active session per administrator: signing in ends the old one.
    db.delete(adminSessions).where(eq(adminSessions.adminId, admin.id)).run();
    db.insert(adminSessions)
      .values({ idHash, adminId: admin.id, csrfToken, createdAt: now, lastSeenAt: now, ip: input.ip ?? null, userAgent: input.userAgent?.slice(0, 300) ?? null })
      .run();
    if (admin.failedSignIns > 0) db.update(administrators).set({ failedSignIns: 0 }).where(eq(administrators.id, admin.id)).run();
    auditIn(ctx, { actor: { type: "admin", id: admin.id, name: admin.username, ip: input.ip }, action: "admin.sign_in", target: `admin ${admin.username}` });
  });
  return { sessionSecret, principal: principalOf(ctx, admin, { csrfToken, idHash }) };
}

/** Resolves a session cookie to its administrator, enforcing idle and absolute timeouts. */
export async function authenticateSession(ctx: AppContext, sessionSecret: string): Promise<AdminPrincipal | null> {
  if (!/^[0-9a-f]{32}$/.test(sessionSecret)) return null;
  const idHash = await sha256Hex(sessionSecret);
  const row = ctx.storage
    .read()
    .select({ s: adminSessions, a: administrators })
    .from(adminSessions)
    .innerJoin(administrators, eq(adminSessions.adminId, administrators.id))
    .where(eq(adminSessions.idHash, idHash))
    .get();
  if (!row) return null;
  const now = Date.now();
  if (now - row.s.lastSeenAt.getTime() > SESSION_IDLE_MS || now - row.s.createdAt.getTime() > SESSION_ABSOLUTE_MS || row.a.lockedAt) {
    await ctx.writer.run(() => ctx.storage.writeDb.delete(adminSessions).where(eq(adminSessions.idHash, idHash)).run());
    return null;
  }
  // Refresh the idle clock at most once a minute to keep reads cheap.
  if (now - row.s.lastSeenAt.getTime() > 60_000) {
    void ctx.writer.run(() => ctx.storage.writeDb.update(adminSessions).set({ lastSeenAt: new Date(now) }).where(eq(adminSessions.idHash, idHash)).run()).catch(() => {});
  }
  return principalOf(ctx, row.a, { csrfToken: row.s.csrfToken, idHash });
}

export async function signOut(ctx: AppContext, principal: AdminPrincipal, ip?: string): Promise<void> {
  await ctx.writer.run(() => {
    ctx.storage.writeDb.delete(adminSessions).where(eq(adminSessions.idHash, principal.sessionIdHash)).run();
    auditIn(ctx, { actor: { type: "admin", id: principal.id, name: principal.username, ip }, action: "admin.sign_out", target: `admin ${principal.username}` });
  });
}

function passwordRuleError(password: string, ctx: AppContext, field = "newPassword"): AppError | null {
  const rule = checkAdminPassword(password, getDeploymentSettings(ctx));
  return rule ? new AppError("validation_failed", `${field}: ${rule}`, [{ path: field, rule: "password_policy", message: rule }]) : null;
}

export async function changePassword(ctx: AppContext, principal: AdminPrincipal, input: { currentPassword: string; newPassword: string }, ip?: string): Promise<void> {
  const admin = ctx.storage.read().select().from(administrators).where(eq(administrators.id, principal.id)).get();
  if (!admin) throw new AppError("not_found", "this administrator no longer exists");
  if (!(await verifyPassword(input.currentPassword, admin.passwordHash))) {
    throw new AppError("invalid_credentials", "the current password is wrong", [{ path: "currentPassword", rule: "matches", message: "the current password is wrong" }]);
  }
  const ruleError = passwordRuleError(input.newPassword, ctx);
  if (ruleError) throw ruleError;
  if (await verifyPassword(input.newPassword, admin.passwordHash)) {
    throw new AppError("validation_failed", "newPassword: must differ from the current password", [{ path: "newPassword", rule: "not_reused", message: "must differ from the current password" }]);
  }
  const passwordHash = await hashPassword(input.newPassword);
  // One session per administrator, so there is no other session to end here.
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(administrators).set({ passwordHash, mustChangePassword: false, updatedAt: new Date() }).where(eq(administrators.id, admin.id)).run();
    auditIn(ctx, { actor: { type: "admin", id: admin.id, name: admin.username, ip }, action: "admin.change_own_password", target: `admin ${admin.username}` });
  });
}

// ---- Two-factor enrollment (self-service) ----

export interface TotpEnrollment {
  secret: string;
  uri: string;
  qrSvg: string;
}

/** Starts (or restarts) enrollment: a new secret that becomes active once a code confirms it. */
export async function startTotpEnrollment(ctx: AppContext, principal: AdminPrincipal): Promise<TotpEnrollment> {
  const secret = newTotpSecret();
  const sealed = sealSecret(ctx.config.dataDir, secret);
  await ctx.writer.run(() => ctx.storage.writeDb.update(administrators).set({ totpPendingSecret: sealed }).where(eq(administrators.id, principal.id)).run());
  const uri = totpUri(secret, principal.username);
  return { secret, uri, qrSvg: totpQrSvg(uri) };
}

/** The pending enrollment (to show the QR code again), if any. */
export function pendingTotpEnrollment(ctx: AppContext, principal: AdminPrincipal): TotpEnrollment | null {
  const a = ctx.storage.read().select({ s: administrators.totpPendingSecret }).from(administrators).where(eq(administrators.id, principal.id)).get();
  if (!a?.s) return null;
  const secret = openSecret(ctx.config.dataDir, a.s);
  const uri = totpUri(secret, principal.username);
  return { secret, uri, qrSvg: totpQrSvg(uri) };
}

export async function confirmTotpEnrollment(ctx: AppContext, principal: AdminPrincipal, code: string, ip?: string): Promise<void> {
  const pending = pendingTotpEnrollment(ctx, principal);
  if (!pending) throw new AppError("conflict", "start two-factor enrollment first");
  const step = totpStep(pending.secret, code.trim());
  if (step === null) throw new AppError("validation_failed", "code: the code does not match; check the device's clock and try the current code", [{ path: "code", rule: "totp", message: "the code does not match" }]);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(administrators).set({ totpSecret: sealSecret(ctx.config.dataDir, pending.secret), totpPendingSecret: null, totpLastStep: step, updatedAt: new Date() }).where(eq(administrators.id, principal.id)).run();
    auditIn(ctx, { actor: { type: "admin", id: principal.id, name: principal.username, ip }, action: "admin.totp_enable", target: `admin ${principal.username}` });
  });
}

export async function disableTotp(ctx: AppContext, principal: AdminPrincipal, currentPassword: string, ip?: string): Promise<void> {
  const admin = ctx.storage.read().select().from(administrators).where(eq(administrators.id, principal.id)).get();
  if (!admin || !(await verifyPassword(currentPassword, admin.passwordHash))) {
    throw new AppError("invalid_credentials", "the current password is wrong", [{ path: "currentPassword", rule: "matches", message: "the current password is wrong" }]);
  }
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(administrators).set({ totpSecret: null, totpPendingSecret: null, totpLastStep: null, updatedAt: new Date() }).where(eq(administrators.id, principal.id)).run();
    auditIn(ctx, { actor: { type: "admin", id: principal.id, name: principal.username, ip }, action: "admin.totp_disable", target: `admin ${principal.username}` });
  });
}

// ---- Provisioning (super administrators manage every administrator) ----

export interface AdminInfo {
  id: string;
  username: string;
  name: string;
  kind: "super" | "network";
  roleId: string | null;
  roleName: string | null;
  networks: { id: string; name: string }[];
  totpEnabled: boolean;
  failedSignIns: number;
  lockedAt: Date | null;
  createdAt: Date;
}

function adminNetworks(ctx: AppContext, adminId: string) {
  return ctx.storage
    .read()
    .select({ id: networks.id, name: networks.name })
    .from(networkAdministrators)
    .innerJoin(networks, eq(networkAdministrators.networkId, networks.id))
    .where(eq(networkAdministrators.adminId, adminId))
    .orderBy(asc(networks.name))
    .all();
}

function toInfo(ctx: AppContext, a: AdminRow, roleName: string | null): AdminInfo {
  return {
    id: a.id,
    username: a.username,
    name: a.name,
    kind: a.kind,
    roleId: a.roleId,
    roleName,
    networks: adminNetworks(ctx, a.id),
    totpEnabled: !!a.totpSecret,
    failedSignIns: a.failedSignIns,
    lockedAt: a.lockedAt,
    createdAt: a.createdAt,
  };
}

export function listAdmins(ctx: AppContext, page: { limit: number; offset: number } = { limit: 1000, offset: 0 }): { items: AdminInfo[]; total: number } {
  const db = ctx.storage.read();
  const rows = db.select({ a: administrators, roleName: roles.name }).from(administrators).leftJoin(roles, eq(administrators.roleId, roles.id)).orderBy(asc(administrators.username)).limit(page.limit).offset(page.offset).all();
  const total = db.select({ n: sql<number>`count(*)` }).from(administrators).get()?.n ?? 0;
  return { items: rows.map((r) => toInfo(ctx, r.a, r.roleName)), total };
}

export function getAdmin(ctx: AppContext, id: string): AdminInfo {
  const r = ctx.storage.read().select({ a: administrators, roleName: roles.name }).from(administrators).leftJoin(roles, eq(administrators.roleId, roles.id)).where(eq(administrators.id, id)).get();
  if (!r) throw new AppError("not_found", `no administrator with id ${id}`);
  return toInfo(ctx, r.a, r.roleName);
}

/** Administrators locked out or with failed sign-ins since their last success. */
export function listLockouts(ctx: AppContext, page: { limit: number; offset: number } = { limit: 1000, offset: 0 }): { items: AdminInfo[]; total: number } {
  const db = ctx.storage.read();
  const failing = or(isNotNull(administrators.lockedAt), gt(administrators.failedSignIns, 0));
  const total = db.select({ n: sql<number>`count(*)` }).from(administrators).where(failing).get()?.n ?? 0;
  const items = db
    .select({ a: administrators, roleName: roles.name })
    .from(administrators)
    .leftJoin(roles, eq(administrators.roleId, roles.id))
    .where(failing)
    .orderBy(asc(administrators.username))
    .limit(page.limit)
    .offset(page.offset)
    .all()
    .map((r) => toInfo(ctx, r.a, r.roleName));
  return { items, total };
}

export async function unlockAdmin(ctx: AppContext, actor: Actor, id: string): Promise<void> {
  const admin = getAdmin(ctx, id);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(administrators).set({ lockedAt: null, failedSignIns: 0 }).where(eq(administrators.id, id)).run();
    auditIn(ctx, { actor, action: "admin.unlock", target: `admin ${admin.username}`, details: { failedSignIns: admin.failedSignIns } });
  });
}

export const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{2,63}$/;

export interface CreateAdminInput {
  name: string;
  username: string;
  password: string;
  kind: "super" | "network";
  /** Super administrators: their role (default: Super administrator). */
  roleId?: string | undefined;
  /** Network administrators: an existing network... */
  networkId?: string | undefined;
  /** ...or the name of a new one created with them. */
  newNetworkName?: string | undefined;
}

export async function createAdmin(ctx: AppContext, actor: Actor, input: CreateAdminInput): Promise<AdminInfo> {
  const problems: { path: string; rule: string; message: string }[] = [];
  const name = input.name.trim();
  const username = input.username.trim().toLowerCase();
  if (!name || name.length > 100) problems.push({ path: "name", rule: "length", message: "must be 1 to 100 characters" });
  if (!USERNAME_RE.test(username)) problems.push({ path: "username", rule: "pattern", message: "3 to 64 characters: letters, digits, dot, dash, underscore; starting with a letter or digit" });
  else if (ctx.storage.read().select({ id: administrators.id }).from(administrators).where(eq(administrators.username, username)).get()) {
    problems.push({ path: "username", rule: "unique", message: "an administrator with this username exists" });
  }
  const rule = checkAdminPassword(input.password, getDeploymentSettings(ctx));
  if (rule) problems.push({ path: "password", rule: "password_policy", message: rule });
  let roleId: string | null = null;
  let networkId: string | null = null;
  const newNetworkName = input.newNetworkName?.trim() ?? "";
  if (input.kind === "super") {
    roleId = input.roleId || SUPER_ROLE_ID;
    if (!ctx.storage.read().select({ id: roles.id }).from(roles).where(eq(roles.id, roleId)).get()) problems.push({ path: "roleId", rule: "exists", message: "no such role" });
  } else if (input.networkId) {
    networkId = input.networkId;
    if (!ctx.storage.read().select({ id: networks.id }).from(networks).where(eq(networks.id, networkId)).get()) problems.push({ path: "networkId", rule: "exists", message: "no such network" });
  } else if (!newNetworkName || newNetworkName.length > 100) {
    problems.push({ path: "networkId", rule: "required", message: "choose an existing network or name a new one (1 to 100 characters)" });
  }
  if (problems.length) {
    const conflict = problems.every((p) => p.rule === "unique");
    throw new AppError(conflict ? "conflict" : "validation_failed", `${problems[0]!.path}: ${problems[0]!.message}`, problems);
  }
  if (roleId) assertCanGrant(actor, rolePermissions(ctx, roleId), "an administrator with this role");
  const passwordHash = await hashPassword(input.password);
  const now = new Date();
  const id = crypto.randomUUID();
  // A new network is created in the same transaction, so a failure leaves neither behind.
  const newNetwork = input.kind === "network" && !networkId ? prepareNetwork(ctx, { name: newNetworkName }) : null;
  if (newNetwork) networkId = newNetwork.network.id;
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    if (newNetwork) insertNetworkIn(ctx, newNetwork, actor);
    // The creator knows the password, so the new administrator must choose their own.
    db.insert(administrators).values({ id, username, name, kind: input.kind, roleId, passwordHash, mustChangePassword: true, createdAt: now, updatedAt: now }).run();
    if (networkId) db.insert(networkAdministrators).values({ networkId, adminId: id, createdAt: now }).run();
    auditIn(ctx, { actor, action: "admin.create", target: `admin ${username}`, networkId, details: { kind: input.kind, ...(roleId ? { roleId } : {}) } });
  });
  return getAdmin(ctx, id);
}

/** Holders of the built-in role other than `exceptId`: the deployment must keep at least one. */
function otherSuperHolders(ctx: AppContext, exceptId: string): number {
  return ctx.storage.read().select({ n: sql<number>`count(*)` }).from(administrators).where(and(eq(administrators.roleId, SUPER_ROLE_ID), sql`${administrators.id} <> ${exceptId}`)).get()?.n ?? 0;
}

export async function setAdminPassword(ctx: AppContext, actor: Actor, id: string, password: string): Promise<void> {
  const admin = getAdmin(ctx, id);
  assertCanGrant(actor, rolePermissions(ctx, admin.roleId), `setting ${admin.username}'s password`);
  const ruleError = passwordRuleError(password, ctx, "password");
  if (ruleError) throw ruleError;
  const passwordHash = await hashPassword(password);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(administrators).set({ passwordHash, mustChangePassword: true, updatedAt: new Date() }).where(eq(administrators.id, id)).run();
    ctx.storage.writeDb.delete(adminSessions).where(eq(adminSessions.adminId, id)).run();
    auditIn(ctx, { actor, action: "admin.set_password", target: `admin ${admin.username}` });
  });
}

export async function setAdminRole(ctx: AppContext, actor: Actor, id: string, roleId: string): Promise<AdminInfo> {
  const admin = getAdmin(ctx, id);
  if (admin.kind !== "super") throw new AppError("validation_failed", "roleId: only super administrators have deployment roles", [{ path: "roleId", rule: "kind", message: "only super administrators have deployment roles" }]);
  if (!ctx.storage.read().select({ id: roles.id }).from(roles).where(eq(roles.id, roleId)).get()) throw new AppError("validation_failed", "roleId: no such role", [{ path: "roleId", rule: "exists", message: "no such role" }]);
  assertCanGrant(actor, [...rolePermissions(ctx, roleId), ...rolePermissions(ctx, admin.roleId)], `changing ${admin.username}'s role`);
  if (admin.roleId === SUPER_ROLE_ID && roleId !== SUPER_ROLE_ID && otherSuperHolders(ctx, id) === 0) {
    throw new AppError("conflict", "at least one administrator must keep the Super administrator role");
  }
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(administrators).set({ roleId, updatedAt: new Date() }).where(eq(administrators.id, id)).run();
    auditIn(ctx, { actor, action: "admin.set_role", target: `admin ${admin.username}`, details: { roleId } });
  });
  return getAdmin(ctx, id);
}

export async function deleteAdmin(ctx: AppContext, actor: Actor, id: string): Promise<void> {
  const admin = getAdmin(ctx, id);
  if (actor.type === "admin" && actor.id === id) throw new AppError("conflict", "you cannot delete yourself");
  assertCanGrant(actor, rolePermissions(ctx, admin.roleId), `deleting ${admin.username}`);
  if (admin.roleId === SUPER_ROLE_ID && otherSuperHolders(ctx, id) === 0) throw new AppError("conflict", "the last Super administrator cannot be deleted");
  await ctx.writer.run(() => {
    // Sessions and network assignments go with the row (ON DELETE CASCADE).
    ctx.storage.writeDb.delete(administrators).where(eq(administrators.id, id)).run();
    auditIn(ctx, { actor, action: "admin.delete", target: `admin ${admin.username}`, details: { kind: admin.kind } });
  });
}

/** An administrator changes their own display name (My account). */
export async function changeOwnName(ctx: AppContext, principal: AdminPrincipal, name: string, ip?: string): Promise<void> {
  const n = name.trim();
  if (!n || n.length > 100) throw new AppError("validation_failed", "name: must be 1 to 100 characters", [{ path: "name", rule: "length", message: "must be 1 to 100 characters" }]);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(administrators).set({ name: n, updatedAt: new Date() }).where(eq(administrators.id, principal.id)).run();
    auditIn(ctx, { actor: { type: "admin", id: principal.id, name: principal.username, ip }, action: "admin.change_name", target: `admin ${principal.username}`, details: { name: n } });
  });
}

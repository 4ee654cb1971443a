// Administrators: the first super administrator, password rules, sign-in
// sessions and local password recovery. The console (super administrator
// issue) builds on these functions; the CLI and REST API call the same ones.
import { eq } from "drizzle-orm";
import { adminSessions, administrators } from "../../db/schema/index.ts";
import type { AppContext } from "../../app/context.ts";
import { AppError } from "../../http/errors.ts";
import { hashPassword, verifyPassword } from "../../security/passwords.ts";

export interface AdminPrincipal {
  id: string;
  username: string;
  name: string;
  kind: "super" | "network";
  mustChangePassword: boolean;
  csrfToken: string;
  sessionIdHash: string;
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

/** Administrator password policy (the super administrator can tighten it later). */
export function checkAdminPassword(password: string): string | null {
  if (password.length < 12) return "must be at least 12 characters";
  if (password.length > 256) return "must be at most 256 characters";
  if (!/[a-z]/.test(password) || !/[A-Z]/.test(password) || !/[0-9]/.test(password)) {
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
      .values({ id: crypto.randomUUID(), username: FIRST_ADMIN_USERNAME, name: "Super administrator", kind: "super", passwordHash, mustChangePassword: true, createdAt: now, updatedAt: now })
      .onConflictDoNothing()
      .run(),
  );
  return password;
}

/** Local recovery: a new one-time password for `username`, which must be changed at next sign-in. */
export async function resetAdminPassword(ctx: AppContext, username: string): Promise<string> {
  const admin = ctx.storage.read().select().from(administrators).where(eq(administrators.username, username)).get();
  if (!admin) throw new AppError("not_found", `no administrator named "${username}"`);
  const password = oneTimePassword();
  const passwordHash = await hashPassword(password);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(administrators).set({ passwordHash, mustChangePassword: true, updatedAt: new Date() }).where(eq(administrators.id, admin.id)).run();
    // Whoever held a session with the lost password is signed out.
    ctx.storage.writeDb.delete(adminSessions).where(eq(adminSessions.adminId, admin.id)).run();
  });
  return password;
}

export interface SignInResult {
  sessionSecret: string;
  principal: AdminPrincipal;
}

// A fixed hash so that unknown usernames cost the same time as wrong passwords.
let dummyHash: Promise<string> | undefined;

export async function signIn(ctx: AppContext, input: { username: string; password: string; ip?: string; userAgent?: string }): Promise<SignInResult> {
  const admin = ctx.storage.read().select().from(administrators).where(eq(administrators.username, input.username)).get();
  if (!admin) {
    dummyHash ??= hashPassword(randomSecret());
    await verifyPassword(input.password, await dummyHash);
    throw new AppError("invalid_credentials", "the username or password is wrong");
  }
  if (!(await verifyPassword(input.password, admin.passwordHash))) {
    throw new AppError("invalid_credentials", "the username or password is wrong");
  }
  const sessionSecret = randomSecret(16);
  const idHash = await sha256Hex(sessionSecret);
  const csrfToken = randomSecret(16);
  const now = new Date();
  await ctx.writer.run(() => {
    // One active session per administrator: signing in ends the old one.
    ctx.storage.writeDb.delete(adminSessions).where(eq(adminSessions.adminId, admin.id)).run();
    ctx.storage.writeDb
      .insert(adminSessions)
      .values({ idHash, adminId: admin.id, csrfToken, createdAt: now, lastSeenAt: now, ip: input.ip ?? null, userAgent: input.userAgent?.slice(0, 300) ?? null })
      .run();
  });
  return {
    sessionSecret,
    principal: { id: admin.id, username: admin.username, name: admin.name, kind: admin.kind, mustChangePassword: admin.mustChangePassword, csrfToken, sessionIdHash: idHash },
  };
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
  if (now - row.s.lastSeenAt.getTime() > SESSION_IDLE_MS || now - row.s.createdAt.getTime() > SESSION_ABSOLUTE_MS) {
    await ctx.writer.run(() => ctx.storage.writeDb.delete(adminSessions).where(eq(adminSessions.idHash, idHash)).run());
    return null;
  }
  // Refresh the idle clock at most once a minute to keep reads cheap.
  if (now - row.s.lastSeenAt.getTime() > 60_000) {
    void ctx.writer.run(() => ctx.storage.writeDb.update(adminSessions).set({ lastSeenAt: new Date(now) }).where(eq(adminSessions.idHash, idHash)).run()).catch(() => {});
  }
  const a = row.a;
  return { id: a.id, username: a.username, name: a.name, kind: a.kind, mustChangePassword: a.mustChangePassword, csrfToken: row.s.csrfToken, sessionIdHash: idHash };
}

export async function signOut(ctx: AppContext, sessionIdHash: string): Promise<void> {
  await ctx.writer.run(() => ctx.storage.writeDb.delete(adminSessions).where(eq(adminSessions.idHash, sessionIdHash)).run());
}

export async function changePassword(ctx: AppContext, principal: AdminPrincipal, input: { currentPassword: string; newPassword: string }): Promise<void> {
  const admin = ctx.storage.read().select().from(administrators).where(eq(administrators.id, principal.id)).get();
  if (!admin) throw new AppError("not_found", "this administrator no longer exists");
  if (!(await verifyPassword(input.currentPassword, admin.passwordHash))) {
    throw new AppError("invalid_credentials", "the current password is wrong", [{ path: "currentPassword", rule: "matches", message: "the current password is wrong" }]);
  }
  const rule = checkAdminPassword(input.newPassword);
  if (rule) throw new AppError("validation_failed", `newPassword: ${rule}`, [{ path: "newPassword", rule: "password_policy", message: rule }]);
  if (await verifyPassword(input.newPassword, admin.passwordHash)) {
    throw new AppError("validation_failed", "newPassword: must differ from the current password", [{ path: "newPassword", rule: "not_reused", message: "must differ from the current password" }]);
  }
  const passwordHash = await hashPassword(input.newPassword);
  // One session per administrator, so there is no other session to end here.
  await ctx.writer.run(() =>
    ctx.storage.writeDb.update(administrators).set({ passwordHash, mustChangePassword: false, updatedAt: new Date() }).where(eq(administrators.id, admin.id)).run(),
  );
}

// Users of a network (people, web admins and bots). Usernames are unique per
// network and compared case-insensitively; passwords follow the user's
// security group's complexity rule and are kept only as argon2id hashes.
import { and, eq } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { users } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { hashPassword } from "../../security/passwords.ts";
import { defaultSecurityGroup, getSecurityGroup } from "../security-groups/security-groups.service.ts";
import { checkUserPassword } from "../security-groups/settings.ts";
import { relayHooks } from "../../relay/hooks.ts";

export type User = Omit<typeof users.$inferSelect, "passwordHash">;
export type UserType = (typeof users.$inferSelect)["type"];

export const USERNAME_RULE = /^[a-z0-9][a-z0-9._@+-]{1,127}$/;

export function normaliseUsername(username: string): string {
  return username.trim().toLowerCase();
}

function publicUser(row: typeof users.$inferSelect): User {
  const { passwordHash: _omit, ...rest } = row;
  return rest;
}

export interface CreateUserInput {
  networkId: string;
  username: string;
  password: string;
  firstName?: string;
  lastName?: string;
  securityGroupId?: string;
  type?: UserType;
}

export async function createUser(ctx: AppContext, input: CreateUserInput): Promise<User> {
  const username = normaliseUsername(input.username);
  if (!USERNAME_RULE.test(username)) {
    throw new AppError("validation_failed", "username: 2-128 characters: letters, digits and . _ @ + -, starting with a letter or digit", [
      { path: "username", rule: "format", message: "2-128 characters: letters, digits and . _ @ + -, starting with a letter or digit" },
    ]);
  }
  const type = input.type ?? "user";
  if (type === "bot" && !username.endsWith("bot")) {
    throw new AppError("validation_failed", 'username: a bot\'s username must end in "bot"', [{ path: "username", rule: "bot_suffix", message: 'must end in "bot"' }]);
  }
  const group = input.securityGroupId ? getSecurityGroup(ctx, input.networkId, input.securityGroupId) : defaultSecurityGroup(ctx, input.networkId);
  const rule = checkUserPassword(input.password, group.settings.security.password);
  if (rule) throw new AppError("validation_failed", `password: ${rule}`, [{ path: "password", rule: "password_policy", message: rule }]);
  const passwordHash = await hashPassword(input.password);
  const now = new Date();
  const row = {
    id: crypto.randomUUID(),
    networkId: input.networkId,
    username,
    firstName: input.firstName?.trim() ?? "",
    lastName: input.lastName?.trim() ?? "",
    securityGroupId: group.id,
    status: "pending" as const,
    type,
    passwordHash,
    failedSignIns: 0,
    createdAt: now,
    updatedAt: now,
  };
  await ctx.writer.run(() => {
    const taken = ctx.storage.writeDb.select({ id: users.id }).from(users).where(and(eq(users.networkId, input.networkId), eq(users.username, username))).get();
    if (taken) throw new AppError("conflict", `username "${username}" is already taken in this network`, [{ path: "username", rule: "unique", message: "already taken" }]);
    ctx.storage.writeDb.insert(users).values(row).run();
  });
  return publicUser(row);
}

export function getUser(ctx: AppContext, networkId: string, id: string): User {
  const row = ctx.storage.read().select().from(users).where(and(eq(users.networkId, networkId), eq(users.id, id))).get();
  if (!row) throw new AppError("not_found", `no user ${id} in this network`);
  return publicUser(row);
}

export function findUserByUsername(ctx: AppContext, networkId: string, username: string): (User & { passwordHash: string }) | undefined {
  return ctx.storage.read().select().from(users).where(and(eq(users.networkId, networkId), eq(users.username, normaliseUsername(username)))).get();
}

/**
 * Creates many users at once (tests, benchmarks, bulk seeding): the same rules as
 * createUser, but each distinct password is hashed once and the rows go in one write,
 * because argon2id per user makes hundreds of users take minutes.
 */
export async function createUsers(ctx: AppContext, inputs: CreateUserInput[], opts: { argon2?: { memoryCost: number; timeCost: number } } = {}): Promise<User[]> {
  const hashes = new Map<string, string>();
  const rows: (typeof users.$inferSelect)[] = [];
  const now = new Date();
  for (const input of inputs) {
    const username = normaliseUsername(input.username);
    if (!USERNAME_RULE.test(username)) throw new AppError("validation_failed", `username: "${username}" is not a valid username`, [{ path: "username", rule: "format", message: "invalid" }]);
    const group = input.securityGroupId ? getSecurityGroup(ctx, input.networkId, input.securityGroupId) : defaultSecurityGroup(ctx, input.networkId);
    const rule = checkUserPassword(input.password, group.settings.security.password);
    if (rule) throw new AppError("validation_failed", `password: ${rule}`, [{ path: "password", rule: "password_policy", message: rule }]);
    let passwordHash = hashes.get(input.password);
    if (!passwordHash) {
      // Tests that sign hundreds of users in may lower the argon2id cost (it is stored in the
      // hash, so sign-in still verifies through signInUser); nothing else passes opts.argon2.
      passwordHash = await Bun.password.hash(input.password, { algorithm: "argon2id", ...(opts.argon2 ?? {}) });
      hashes.set(input.password, passwordHash);
    }
    rows.push({
      id: crypto.randomUUID(), networkId: input.networkId, username, firstName: input.firstName?.trim() ?? "", lastName: input.lastName?.trim() ?? "",
      securityGroupId: group.id, status: "pending", type: input.type ?? "user", passwordHash, failedSignIns: 0, createdAt: now, updatedAt: now,
    });
  }
  await ctx.writer.run(() => {
    for (const row of rows) {
      const taken = ctx.storage.writeDb.select({ id: users.id }).from(users).where(and(eq(users.networkId, row.networkId), eq(users.username, row.username))).get();
      if (taken) throw new AppError("conflict", `username "${row.username}" is already taken in this network`, [{ path: "username", rule: "unique", message: "already taken" }]);
      ctx.storage.writeDb.insert(users).values(row).run();
    }
  });
  return rows.map(publicUser);
}

export async function setUserStatus(ctx: AppContext, networkId: string, id: string, status: User["status"]): Promise<User> {
  getUser(ctx, networkId, id);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(users).set({ status, failedSignIns: 0, updatedAt: new Date() }).where(and(eq(users.networkId, networkId), eq(users.id, id))).run();
  });
  // A suspended user's connected devices are cut off at once, not at their next reconnect.
  if (status === "suspended") relayHooks(ctx).userSuspended(id);
  return getUser(ctx, networkId, id);
}

export interface SignInOutcome {
  user: User;
  /** True when this wrong password reached the security group's device-reset threshold. */
  resetDevices: boolean;
}

/**
 * Checks a client sign-in against the user's security group: suspended users are refused
 * with the reason; wrong passwords count towards suspension and device reset; a correct
 * one clears the count. The same "wrong username or password" answer hides which it was.
 */
export async function signInUser(ctx: AppContext, networkId: string, username: string, password: string, onDeviceReset?: (userId: string) => void): Promise<User> {
  const row = findUserByUsername(ctx, networkId, username);
  if (!row) {
    // Spend comparable time so unknown usernames are not told apart by timing.
    await Bun.password.verify(password, DUMMY_HASH).catch(() => false);
    throw new AppError("invalid_credentials", "wrong username or password");
  }
  if (row.status === "suspended") throw new AppError("account_suspended", "this account is suspended; ask a network administrator to reactivate it");
  const ok = await Bun.password.verify(password, row.passwordHash);
  if (ok) {
    if (row.failedSignIns !== 0) {
      await ctx.writer.run(() => ctx.storage.writeDb.update(users).set({ failedSignIns: 0 }).where(eq(users.id, row.id)).run());
    }
    return publicUser(row);
  }
  const policy = getSecurityGroup(ctx, networkId, row.securityGroupId).settings.security;
  const failed = await ctx.writer.run(() => {
    const current = ctx.storage.writeDb.select({ n: users.failedSignIns }).from(users).where(eq(users.id, row.id)).get();
    const n = (current?.n ?? 0) + 1;
    const suspend = policy.suspendAfter > 0 && n >= policy.suspendAfter;
    ctx.storage.writeDb.update(users).set({ failedSignIns: n, ...(suspend ? { status: "suspended" as const } : {}), updatedAt: new Date() }).where(eq(users.id, row.id)).run();
    if (policy.deviceResetAfter > 0 && n === policy.deviceResetAfter) onDeviceReset?.(row.id);
    return n;
  });
  if (policy.suspendAfter > 0 && failed >= policy.suspendAfter) relayHooks(ctx).userSuspended(row.id);
  if (policy.suspendAfter > 0 && failed >= policy.suspendAfter) {
    throw new AppError("account_suspended", `too many wrong passwords: this account is now suspended (after ${policy.suspendAfter}); ask a network administrator to reactivate it`);
  }
  const left = policy.suspendAfter > 0 ? ` (${policy.suspendAfter - failed} attempts left before suspension)` : "";
  throw new AppError("invalid_credentials", `wrong username or password${left}`);
}

const DUMMY_HASH = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2VZ3fRkFrhJwWQK0DkH5Aw8Eo7Dd4bYjXu9J8S2T3Mk";

/**
 * A user changes their own password (clients): only where the security group allows it; the
 * current password is checked like a sign-in (wrong ones count towards suspension) and the
 * new one must meet the group's complexity rule.
 */
export async function changeOwnPassword(ctx: AppContext, networkId: string, userId: string, currentPassword: string, newPassword: string): Promise<void> {
  const user = getUser(ctx, networkId, userId);
  const group = getSecurityGroup(ctx, networkId, user.securityGroupId);
  if (!group.settings.security.userCanChangePassword) throw new AppError("forbidden", "your security group does not let users change their password; ask a network administrator");
  await signInUser(ctx, networkId, user.username, currentPassword);
  if (newPassword === currentPassword) throw new AppError("validation_failed", "newPassword: must differ from the current password", [{ path: "newPassword", rule: "changed", message: "must differ from the current password" }]);
  const rule = checkUserPassword(newPassword, group.settings.security.password);
  if (rule) throw new AppError("validation_failed", `newPassword: ${rule}`, [{ path: "newPassword", rule: "password_policy", message: rule }]);
  const passwordHash = await hashPassword(newPassword);
  await ctx.writer.run(() => ctx.storage.writeDb.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, userId)).run());
}

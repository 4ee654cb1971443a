// Users of a network (people, web admins and bots). Usernames are unique per
// network and compared case-insensitively; passwords follow the user's
// security group's complexity rule and are kept only as argon2id hashes.
import { stringify } from "csv-stringify/sync";
import { and, asc, desc, eq, inArray, isNull, ne, or, sql, type SQL } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { devices, prekeys, securityGroups, users } from "../../db/schema/index.ts";
import { auditIn, type Actor } from "../audit/audit.service.ts";
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

export async function createUser(ctx: AppContext, input: CreateUserInput, actor?: Actor): Promise<User> {
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
    if (actor) auditIn(ctx, { actor, action: type === "bot" ? "bot.create" : "user.create", target: `user ${username}`, networkId: input.networkId, details: { type, securityGroup: group.name } });
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
  // Groups are looked up once per (network, group): parsing a group's settings per row dominated large batches.
  const groups = new Map<string, ReturnType<typeof getSecurityGroup>>();
  for (const input of inputs) {
    const username = normaliseUsername(input.username);
    if (!USERNAME_RULE.test(username)) throw new AppError("validation_failed", `username: "${username}" is not a valid username`, [{ path: "username", rule: "format", message: "invalid" }]);
    const key = `${input.networkId}/${input.securityGroupId ?? ""}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = input.securityGroupId ? getSecurityGroup(ctx, input.networkId, input.securityGroupId) : defaultSecurityGroup(ctx, input.networkId)));
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

// ---- Team directory (network administrators): list, edit, status, delete, device reset.
// Every function takes the network id and refuses ids of other networks (not_found),
// so one network's administrator can never touch another network's users.

export const directorySorts = ["username", "name", "status", "created"] as const;
export type DirectorySort = (typeof directorySorts)[number];

export interface DirectoryQuery {
  search?: string | undefined;
  status?: User["status"] | undefined;
  type?: UserType | undefined;
  sort?: DirectorySort | undefined;
  order?: "asc" | "desc" | undefined;
  limit: number;
  offset: number;
}

export interface DirectoryUser extends User {
  securityGroupName: string;
  deviceCount: number;
}

function directoryWhere(networkId: string, q: Pick<DirectoryQuery, "search" | "status" | "type">): SQL {
  const parts: SQL[] = [eq(users.networkId, networkId)];
  if (q.status) parts.push(eq(users.status, q.status));
  if (q.type) parts.push(eq(users.type, q.type));
  else parts.push(ne(users.type, "bot"));
  const s = q.search?.trim().toLowerCase();
  if (s) {
    // instr() rather than LIKE so % and _ in the search are plain characters.
    parts.push(or(sql`instr(${users.username}, ${s}) > 0`, sql`instr(lower(${users.firstName} || ' ' || ${users.lastName}), ${s}) > 0`)!);
  }
  return and(...parts)!;
}

export function listDirectory(ctx: AppContext, networkId: string, q: DirectoryQuery): { items: DirectoryUser[]; total: number } {
  const db = ctx.storage.read();
  const where = directoryWhere(networkId, q);
  const dir = q.order === "desc" ? desc : asc;
  const sortCol = { username: users.username, name: users.lastName, status: users.status, created: users.createdAt }[q.sort ?? "username"];
  const total = db.select({ n: sql<number>`count(*)` }).from(users).where(where).get()?.n ?? 0;
  const rows = db
    .select({ u: users, groupName: securityGroups.name })
    .from(users)
    .innerJoin(securityGroups, eq(securityGroups.id, users.securityGroupId))
    .where(where)
    .orderBy(dir(sortCol), asc(users.username))
    .limit(q.limit)
    .offset(q.offset)
    .all();
  const ids = rows.map((r) => r.u.id);
  const counts = new Map<string, number>();
  if (ids.length) {
    for (const r of db.select({ userId: devices.userId, n: sql<number>`count(*)` }).from(devices).where(and(inArray(devices.userId, ids), isNull(devices.revokedAt))).groupBy(devices.userId).all()) counts.set(r.userId, r.n);
  }
  return { items: rows.map((r) => ({ ...publicUser(r.u), securityGroupName: r.groupName, deviceCount: counts.get(r.u.id) ?? 0 })), total };
}

/** Users by status (bots apart) and active devices: the network dashboard's counts. */
export function directoryCounts(ctx: AppContext, networkId: string): { byStatus: Record<User["status"], number>; bots: number; devices: number } {
  const db = ctx.storage.read();
  const byStatus = { pending: 0, active: 0, suspended: 0, restricted: 0 };
  for (const r of db.select({ status: users.status, n: sql<number>`count(*)` }).from(users).where(and(eq(users.networkId, networkId), ne(users.type, "bot"))).groupBy(users.status).all()) byStatus[r.status] = r.n;
  const bots = db.select({ n: sql<number>`count(*)` }).from(users).where(and(eq(users.networkId, networkId), eq(users.type, "bot"))).get()?.n ?? 0;
  const deviceCount = db.select({ n: sql<number>`count(*)` }).from(devices).where(and(eq(devices.networkId, networkId), isNull(devices.revokedAt))).get()?.n ?? 0;
  return { byStatus, bots, devices: deviceCount };
}

export interface UserPatch {
  firstName?: string | undefined;
  lastName?: string | undefined;
  securityGroupId?: string | undefined;
  type?: "user" | "webadmin" | undefined;
  status?: "pending" | "active" | "restricted" | undefined;
  password?: string | undefined;
}

/** Edits a user; bots can be edited only while pending (they are then in use by their owner). */
export async function updateUser(ctx: AppContext, actor: Actor, networkId: string, id: string, patch: UserPatch): Promise<User> {
  const u = getUser(ctx, networkId, id);
  if (u.type === "bot" && u.status !== "pending") throw new AppError("conflict", "a bot can be edited only while it is pending");
  if (patch.type !== undefined && u.type === "bot") throw new AppError("validation_failed", "type: a bot stays a bot", [{ path: "type", rule: "bot", message: "a bot stays a bot" }]);
  const groupId = patch.securityGroupId ?? u.securityGroupId;
  const group = getSecurityGroup(ctx, networkId, groupId);
  let passwordHash: string | undefined;
  if (patch.password !== undefined) {
    const rule = checkUserPassword(patch.password, group.settings.security.password);
    if (rule) throw new AppError("validation_failed", `password: ${rule}`, [{ path: "password", rule: "password_policy", message: rule }]);
    passwordHash = await hashPassword(patch.password);
  }
  const set = {
    ...(patch.firstName !== undefined ? { firstName: patch.firstName.trim() } : {}),
    ...(patch.lastName !== undefined ? { lastName: patch.lastName.trim() } : {}),
    ...(patch.type !== undefined ? { type: patch.type } : {}),
    ...(patch.status !== undefined ? { status: patch.status } : {}),
    ...(passwordHash ? { passwordHash, failedSignIns: 0 } : {}),
    securityGroupId: group.id,
    updatedAt: new Date(),
  };
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(users).set(set).where(and(eq(users.networkId, networkId), eq(users.id, id))).run();
    auditIn(ctx, { actor, action: u.type === "bot" ? "bot.update" : "user.update", target: `user ${u.username}`, networkId, details: { fields: Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined && k !== "password"), passwordChanged: !!passwordHash } });
  });
  return getUser(ctx, networkId, id);
}

/** Suspends (signing the user's devices out at once) or reactivates users; audited. */
export async function changeUserStatus(ctx: AppContext, actor: Actor, networkId: string, ids: string[], suspend: boolean): Promise<{ changed: number }> {
  if (!ids.length) return { changed: 0 };
  const status = suspend ? ("suspended" as const) : ("active" as const);
  let changed = 0;
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      // Looked up by primary key only, then filtered here: with network_id and status in the
      // WHERE, SQLite picks the (network_id, status) index and scans the whole network per chunk.
      const hit = db.select({ id: users.id, networkId: users.networkId, status: users.status }).from(users).where(inArray(users.id, chunk)).all().filter((r) => r.networkId === networkId && r.status !== status).map((r) => r.id);
      if (!hit.length) continue;
      changed += hit.length;
      db.update(users).set({ status, failedSignIns: 0, updatedAt: new Date() }).where(inArray(users.id, hit)).run();
    }
    auditIn(ctx, { actor, action: suspend ? "user.suspend" : "user.unsuspend", target: ids.length === 1 ? `user ${ids[0]}` : `${ids.length} users`, networkId, details: { count: changed, ...(ids.length <= 20 ? { userIds: ids } : {}) } });
  });
  if (suspend) for (const id of ids) relayHooks(ctx).userSuspended(id);
  return { changed };
}

/** Deletes users with their devices and keys; their open sockets are closed at once. */
export async function deleteUsers(ctx: AppContext, actor: Actor, networkId: string, ids: string[]): Promise<{ deleted: number }> {
  if (!ids.length) return { deleted: 0 };
  let deleted = 0;
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    for (let i = 0; i < ids.length; i += 500) {
      // By primary key only (see changeUserStatus), filtered to this network here.
      const mine = db.select({ id: users.id, networkId: users.networkId }).from(users).where(inArray(users.id, ids.slice(i, i + 500))).all().filter((r) => r.networkId === networkId).map((r) => r.id);
      if (!mine.length) continue;
      deleted += mine.length;
      db.delete(users).where(inArray(users.id, mine)).run();
    }
    auditIn(ctx, { actor, action: "user.delete", target: ids.length === 1 ? `user ${ids[0]}` : `${ids.length} users`, networkId, details: { count: deleted, ...(ids.length <= 20 ? { userIds: ids } : {}) } });
  });
  const hooks = relayHooks(ctx);
  for (const id of ids) hooks.userSuspended(id);
  hooks.devicesChanged(ids[0]!);
  return { deleted };
}

/** Resets a user's devices: each one must register again (its socket closes now). */
export async function resetUserDevices(ctx: AppContext, actor: Actor, networkId: string, id: string): Promise<{ reset: number }> {
  const u = getUser(ctx, networkId, id);
  let revoked: string[] = [];
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    revoked = db.select({ id: devices.id }).from(devices).where(and(eq(devices.userId, id), isNull(devices.revokedAt))).all().map((r) => r.id);
    if (revoked.length) {
      db.update(devices).set({ revokedAt: new Date() }).where(inArray(devices.id, revoked)).run();
      db.delete(prekeys).where(inArray(prekeys.deviceId, revoked)).run();
    }
    auditIn(ctx, { actor, action: "user.reset_devices", target: `user ${u.username}`, networkId, details: { devices: revoked.length } });
  });
  relayHooks(ctx).devicesChanged(id, revoked);
  return { reset: revoked.length };
}

/** Maps usernames (case-insensitive) to this network's users; unknown names are returned apart. */
export function matchUsernames(ctx: AppContext, networkId: string, usernames: string[]): { matched: Map<string, { id: string; username: string; status: User["status"] }>; unmatched: string[] } {
  const wanted = [...new Set(usernames.map(normaliseUsername).filter(Boolean))];
  const matched = new Map<string, { id: string; username: string; status: User["status"] }>();
  const db = ctx.storage.read();
  for (let i = 0; i < wanted.length; i += 500) {
    for (const r of db.select({ id: users.id, username: users.username, status: users.status }).from(users).where(and(eq(users.networkId, networkId), inArray(users.username, wanted.slice(i, i + 500)))).all()) matched.set(r.username, r);
  }
  return { matched, unmatched: wanted.filter((u) => !matched.has(u)) };
}

/** The directory as a CSV file; cells that spreadsheets would run as formulas start with a quote. */
export function directoryCsv(ctx: AppContext, networkId: string): string {
  const cell = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
  return stringify(directoryCsvRows(ctx, networkId).map((row) => row.map(cell)), { header: true, columns: ["username", "first_name", "last_name", "status", "type", "security_group", "created_at"] });
}

/** The directory as CSV rows (bots included, marked by type), for download. */
export function directoryCsvRows(ctx: AppContext, networkId: string): string[][] {
  return ctx.storage
    .read()
    .select({ u: users, group: securityGroups.name })
    .from(users)
    .innerJoin(securityGroups, eq(securityGroups.id, users.securityGroupId))
    .where(eq(users.networkId, networkId))
    .orderBy(asc(users.username))
    .all()
    .map(({ u, group }) => [u.username, u.firstName, u.lastName, u.status, u.type, group, u.createdAt.toISOString()]);
}

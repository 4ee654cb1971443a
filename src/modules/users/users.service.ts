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

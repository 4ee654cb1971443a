// Networks: creating one also creates its default security group, which
// always exists and cannot be deleted.
import { eq } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { networks, securityGroups } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { defaultSecurityGroupSettings } from "../security-groups/settings.ts";

export type Network = typeof networks.$inferSelect;

export async function createNetwork(ctx: AppContext, input: { name: string; federationDomain?: string | null }): Promise<Network> {
  const name = input.name.trim();
  if (!name) throw new AppError("validation_failed", "name: must not be empty", [{ path: "name", rule: "min", message: "must not be empty" }]);
  const now = new Date();
  const network: Network = { id: crypto.randomUUID(), name, federationDomain: input.federationDomain ?? null, readReceipts: true, createdAt: now, updatedAt: now };
  await ctx.writer.run(() => {
    ctx.storage.writeDb.insert(networks).values(network).run();
    ctx.storage.writeDb
      .insert(securityGroups)
      .values({ id: crypto.randomUUID(), networkId: network.id, name: "Default", isDefault: true, settings: defaultSecurityGroupSettings(), createdAt: now, updatedAt: now })
      .run();
  });
  return network;
}

export function getNetwork(ctx: AppContext, id: string): Network {
  const row = ctx.storage.read().select().from(networks).where(eq(networks.id, id)).get();
  if (!row) throw new AppError("not_found", `no network with id ${id}`);
  return row;
}

export function listNetworks(ctx: AppContext): Network[] {
  return ctx.storage.read().select().from(networks).orderBy(networks.name).all();
}

/** Network-wide switches clients honour (read receipts are also enforced by the relay). */
export async function updateNetwork(ctx: AppContext, id: string, patch: { name?: string; readReceipts?: boolean }): Promise<Network> {
  getNetwork(ctx, id);
  if (patch.name !== undefined && !patch.name.trim()) throw new AppError("validation_failed", "name: must not be empty", [{ path: "name", rule: "min", message: "must not be empty" }]);
  await ctx.writer.run(() => {
    ctx.storage.writeDb
      .update(networks)
      .set({ ...(patch.name !== undefined ? { name: patch.name.trim() } : {}), ...(patch.readReceipts !== undefined ? { readReceipts: patch.readReceipts } : {}), updatedAt: new Date() })
      .where(eq(networks.id, id))
      .run();
  });
  return getNetwork(ctx, id);
}

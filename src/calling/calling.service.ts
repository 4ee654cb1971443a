// What administrators see of calling and may do to it, for the REST API and
// the console alike: the node's health, active calls (paged) and ending a call.
import type { AppContext } from "../app/context.ts";
import { AppError } from "../http/errors.ts";
import { audit, type Actor } from "../modules/audit/audit.service.ts";
import { callRegistry } from "./calls.service.ts";
import { callingService, type NodeStats } from "./supervisor.ts";

/** A node call, with the conversation and network it belongs to when it was set up through this server. */
export type CallStatusEntry = NodeStats["calls"][number] & { networkId: string | null; conversationId: string | null };

export interface CallingStatus {
  mode: "off" | "spawn" | "external";
  node: { state: string; reachable: boolean; restarts: number };
  totals: NodeStats["totals"];
  calls: CallStatusEntry[];
  nextOffset: number | null;
}

/** Node health and active calls; with `networkId`, only the calls of that network's conversations (totals stay node-wide). */
export async function callingStatus(ctx: AppContext, page: { limit: number; offset: number; networkId?: string }): Promise<CallingStatus> {
  const s = callingService(ctx);
  const empty = { totals: { calls: 0, participants: 0 }, calls: [], nextOffset: null };
  if (!s) return { mode: "off", node: { state: "off", reachable: false, restarts: 0 }, ...empty };
  const mode = ctx.config.callingMode as "spawn" | "external";
  const node = { state: s.supervisor?.state ?? "external", reachable: false, restarts: s.supervisor?.restarts ?? 0 };
  let stats: NodeStats;
  try {
    stats = await s.client.stats();
  } catch {
    // An unreachable node is a status to show, not an error of this request.
    return { mode, node, ...empty };
  }
  node.reachable = true;
  const registry = callRegistry(ctx).calls;
  const calls = stats.calls
    .map((c) => {
      const r = registry.get(c.callId);
      return { ...c, networkId: r?.networkId ?? null, conversationId: r?.conversationId ?? null };
    })
    .filter((c) => page.networkId === undefined || c.networkId === page.networkId)
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.callId.localeCompare(b.callId));
  const { limit, offset } = page;
  return { mode, node, totals: stats.totals, calls: calls.slice(offset, offset + limit), nextOffset: offset + limit < calls.length ? offset + limit : null };
}

export async function endCall(ctx: AppContext, actor: Actor, callId: string): Promise<void> {
  const s = callingService(ctx);
  if (!s) throw new AppError("unavailable", "calling is off on this server (callingMode=off)");
  try {
    await s.client.endCall(callId);
  } catch (e) {
    if (/404/.test((e as Error).message)) throw new AppError("not_found", `no active call ${callId}`);
    throw new AppError("unavailable", "the calling node is not reachable");
  }
  await audit(ctx, { actor, action: "call.end", target: callId });
}

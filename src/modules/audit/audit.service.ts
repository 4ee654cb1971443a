// The audit log service: every administrator action (console, REST, CLI)
// records who did what to what, when and from where; the consoles list,
// filter and export it.
import { and, desc, eq, gte, lte, sql, type SQL } from "drizzle-orm";
import { stringify } from "csv-stringify/sync";
import type { AppContext } from "../../app/context.ts";
import { auditLog } from "../../db/schema/index.ts";

/** Who acts: a signed-in administrator, an API token, or the local system (CLI, start-up). */
export interface Actor {
  type: "admin" | "token" | "system";
  id: string | null;
  name: string;
  ip?: string | undefined;
  /** What the actor may do; undefined for the local system (CLI), which may do everything. */
  permissions?: Set<string> | undefined;
}

export const systemActor: Actor = { type: "system", id: null, name: "system" };

export interface AuditEntry {
  actor: Actor;
  action: string;
  target?: string | null;
  networkId?: string | null;
  details?: Record<string, unknown>;
}

export type AuditRow = typeof auditLog.$inferSelect;

export async function audit(ctx: AppContext, entry: AuditEntry): Promise<void> {
  await ctx.writer.run(() => auditIn(ctx, entry));
}

/** The same, inside a write the caller already holds (so the action and its record commit together). */
export function auditIn(ctx: AppContext, entry: AuditEntry): void {
  ctx.storage.writeDb
    .insert(auditLog)
    .values({
      at: new Date(),
      actorType: entry.actor.type,
      actorId: entry.actor.id,
      actorName: entry.actor.name,
      action: entry.action,
      target: entry.target ?? null,
      ip: entry.actor.ip ?? null,
      networkId: entry.networkId ?? null,
      details: entry.details ?? null,
    })
    .run();
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  networkId?: string | undefined;
}

/** Filter fields as they arrive from a query string (ISO dates as text, empty means no filter). */
export const toFilter = (q: { actor?: string | undefined; action?: string | undefined; from?: string | undefined; to?: string | undefined }): AuditFilter => ({
  actor: q.actor || undefined,
  action: q.action || undefined,
  from: q.from ? new Date(q.from) : undefined,
  to: q.to ? new Date(q.to) : undefined,
});

function where(f: AuditFilter): SQL | undefined {
  const parts: SQL[] = [];
  if (f.actor) parts.push(eq(auditLog.actorName, f.actor));
  // Action filters match a prefix, so "network" finds network.create, network.delete...
  if (f.action) parts.push(sql`substr(${auditLog.action}, 1, ${f.action.length}) = ${f.action}`);
  if (f.from) parts.push(gte(auditLog.at, f.from));
  if (f.to) parts.push(lte(auditLog.at, f.to));
  if (f.networkId) parts.push(eq(auditLog.networkId, f.networkId));
  return parts.length ? and(...parts) : undefined;
}

export function listAudit(ctx: AppContext, filter: AuditFilter, page: { limit: number; offset: number }): { items: AuditRow[]; total: number } {
  const db = ctx.storage.read();
  const w = where(filter);
  const items = db.select().from(auditLog).where(w).orderBy(desc(auditLog.id)).limit(page.limit).offset(page.offset).all();
  const total = db.select({ n: sql<number>`count(*)` }).from(auditLog).where(w).get()?.n ?? 0;
  return { items, total };
}

/** Spreadsheets run cells starting with = + - @ as formulas; a leading quote keeps them text. */
const cell = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);

/** CSV of every matching row (newest first), capped to keep the response bounded. */
export function auditCsv(ctx: AppContext, filter: AuditFilter, max = 100_000): string {
  const rows = ctx.storage.read().select().from(auditLog).where(where(filter)).orderBy(desc(auditLog.id)).limit(max).all();
  return stringify(
    rows.map((r) => [r.at.toISOString(), r.actorType, r.actorName, r.action, r.target ?? "", r.ip ?? "", r.networkId ?? "", r.details ? JSON.stringify(r.details) : ""].map(cell)),
    { header: true, columns: ["time", "actor_type", "actor", "action", "target", "ip", "network_id", "details"] },
  );
}

// Bulk CSV jobs: a CSV (up to BULK_CSV_LIMIT bytes) is parsed as a stream, then the
// suspend/unsuspend/delete runs in the background in batches, each batch its own
// write through ctx.writer with a yield between, so the relay keeps serving; the
// bulk_jobs row carries progress and the final report (unmatched rows).
import { parse } from "csv-parse";
import { eq } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { bulkJobs } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { auditIn, type Actor } from "../audit/audit.service.ts";
import { changeUserStatus, deleteUsers, matchUsernames, normaliseUsername } from "./users.service.ts";
import type { BulkAction } from "./bulk.service.ts";

export const BULK_CSV_LIMIT = 16 * 1024 * 1024;
export const MAX_JOB_ROWS = 1_000_000;
const BATCH = 500;

/** POST of a raw CSV body to the bulk job route: exempt from the 1 MiB JSON limit, it has its own. */
export function isBulkCsvUpload(method: string, path: string): boolean {
  return method === "POST" && (/^\/api\/v1\/networks\/[^/]+\/users\/bulk\/jobs$/.test(path) || /^\/network\/[^/]+\/bulk\/(preview|run)$/.test(path));
}

const csvError = (message: string, rule: string) => new AppError("validation_failed", `file: ${message}`, [{ path: "file", rule, message }]);

/** Streams the username column out of a CSV (header "username" optional); duplicates keep their first row. */
export async function readUsernames(source: string | ReadableStream<Uint8Array>): Promise<{ row: number; username: string }[]> {
  const parser = parse({ relax_column_count: true, skip_empty_lines: true, trim: true, bom: true, info: true });
  const out: { row: number; username: string }[] = [];
  const seen = new Set<string>();
  let col = 0;
  let first = true;
  let records = 0;
  const consume = (async () => {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      records++;
      if (records > MAX_JOB_ROWS + 1) throw csvError(`more than ${MAX_JOB_ROWS} rows (row ${rec.info.lines})`, "max_rows");
      if (first) {
        first = false;
        const header = rec.record.map((h) => h.toLowerCase());
        if (header.includes("username")) {
          col = header.indexOf("username");
          continue;
        }
      }
      const u = normaliseUsername(rec.record[col] ?? "");
      if (u && !seen.has(u)) {
        seen.add(u);
        out.push({ row: rec.info.lines, username: u });
      }
    }
  })();
  try {
    if (typeof source === "string") parser.end(source);
    else {
      const reader = source.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!parser.write(Buffer.from(value))) await new Promise((r) => parser.once("drain", r));
      }
      parser.end();
    }
    await consume;
  } catch (e) {
    parser.destroy();
    await consume.catch(() => undefined);
    if (e instanceof AppError) throw e;
    const line = (e as { lines?: number }).lines;
    throw csvError(`not a readable CSV file${line ? ` at row ${line}` : ""} (${(e as Error).message})`, "csv");
  }
  if (!out.length) throw csvError('no usernames found (one per row, header "username")', "empty");
  return out;
}

export type BulkJob = typeof bulkJobs.$inferSelect;
export interface BulkJobView {
  id: string; kind: BulkAction; state: BulkJob["state"]; total: number; processed: number; matched: number; unmatched: number; changed: number;
  error: string | null; createdBy: string; createdAt: string; startedAt: string | null; finishedAt: string | null;
}

/** Jobs this process is running: a queued/running row not here was cut short by a restart. */
const active = new Set<string>();

export function bulkJobView(j: BulkJob): BulkJobView {
  const orphan = (j.state === "queued" || j.state === "running") && !active.has(j.id);
  return {
    id: j.id, kind: j.kind, state: orphan ? "failed" : j.state, total: j.total, processed: j.processed, matched: j.matched, unmatched: j.unmatched, changed: j.changed,
    error: orphan ? "interrupted by a server restart; upload the file again" : j.error, createdBy: j.createdBy,
    createdAt: j.createdAt.toISOString(), startedAt: j.startedAt?.toISOString() ?? null, finishedAt: j.finishedAt?.toISOString() ?? null,
  };
}

export function getBulkJob(ctx: AppContext, networkId: string, id: string): BulkJob {
  const j = ctx.storage.read().select().from(bulkJobs).where(eq(bulkJobs.id, id)).get();
  // Another network's job is indistinguishable from a missing one.
  if (!j || j.networkId !== networkId) throw new AppError("not_found", `no bulk job ${id} in this network`);
  return j;
}

/** The result report as CSV: every row that matched no user. */
export function bulkJobReportCsv(j: BulkJob): string {
  const rows = JSON.parse(j.report ?? "[]") as { row: number; username: string }[];
  const cell = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
  return "row,username,result\n" + rows.map((r) => `${r.row},${cell(r.username)},not found`).join("\n") + (rows.length ? "\n" : "");
}

/** Records the job and starts it in the background; returns at once with the queued job. */
export async function startBulkJob(ctx: AppContext, actor: Actor, networkId: string, action: BulkAction, rows: { row: number; username: string }[], acknowledgeDeletion = false): Promise<BulkJob> {
  if (action === "delete" && !acknowledgeDeletion) {
    throw new AppError("validation_failed", "acknowledge: deleting users cannot be undone; acknowledge it explicitly", [{ path: "acknowledge", rule: "required", message: "confirm that the deletion cannot be undone" }]);
  }
  const job: BulkJob = {
    id: crypto.randomUUID(), networkId, kind: action, state: "queued", total: rows.length, processed: 0, matched: 0, unmatched: 0, changed: 0,
    report: null, error: null, createdBy: actor.name, createdAt: new Date(), startedAt: null, finishedAt: null,
  };
  await ctx.writer.run(() => {
    ctx.storage.writeDb.insert(bulkJobs).values(job).run();
    auditIn(ctx, { actor, action: "users.bulk.start", target: `bulk job ${job.id}`, networkId, details: { kind: action, rows: rows.length } });
  });
  active.add(job.id);
  void runJob(ctx, actor, job, rows);
  return job;
}

async function runJob(ctx: AppContext, actor: Actor, job: BulkJob, rows: { row: number; username: string }[]) {
  const set = (v: Partial<BulkJob>) => ctx.writer.run(() => ctx.storage.writeDb.update(bulkJobs).set(v).where(eq(bulkJobs.id, job.id)).run());
  const unmatched: { row: number; username: string }[] = [];
  let matched = 0;
  let changed = 0;
  try {
    await set({ state: "running", startedAt: new Date() });
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      const m = matchUsernames(ctx, job.networkId, batch.map((r) => r.username)).matched;
      const ids: string[] = [];
      for (const r of batch) {
        const u = m.get(r.username);
        if (u) ids.push(u.id);
        else unmatched.push(r);
      }
      matched += ids.length;
      // Suspension signs each user out at once (changeUserStatus tells the relay).
      changed += job.kind === "delete" ? (await deleteUsers(ctx, actor, job.networkId, ids)).deleted : (await changeUserStatus(ctx, actor, job.networkId, ids, job.kind === "suspend")).changed;
      await set({ processed: i + batch.length, matched, unmatched: unmatched.length, changed });
      await new Promise((r) => setTimeout(r, 0));
    }
    await ctx.writer.run(() => {
      ctx.storage.writeDb.update(bulkJobs).set({ state: "done", report: JSON.stringify(unmatched), finishedAt: new Date() }).where(eq(bulkJobs.id, job.id)).run();
      auditIn(ctx, { actor, action: "users.bulk.finish", target: `bulk job ${job.id}`, networkId: job.networkId, details: { kind: job.kind, rows: rows.length, matched, changed, unmatched: unmatched.length } });
    });
  } catch (e) {
    ctx.log.logger.error({ err: e, job: job.id }, "bulk job failed");
    await set({ state: "failed", error: (e as Error).message, report: JSON.stringify(unmatched), finishedAt: new Date() }).catch(() => undefined);
  } finally {
    active.delete(job.id);
  }
}

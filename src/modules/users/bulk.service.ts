// Bulk suspend and delete by CSV upload: the file names users by username (one
// column, header "username"); a preview matches rows against this network's
// directory, and the action runs only on matched rows (deletion needs an explicit
// acknowledgement). Each chunk of 500 users is one write, so 10,000 rows take well
// under a second and the request itself is the job.
import { parse } from "csv-parse/sync";
import type { AppContext } from "../../app/context.ts";
import { AppError } from "../../http/errors.ts";
import type { Actor } from "../audit/audit.service.ts";
import { changeUserStatus, deleteUsers, matchUsernames, normaliseUsername } from "./users.service.ts";

export const BULK_TEMPLATE = "username\nalice.example\nbob.example\n";
export const MAX_BULK_ROWS = 100_000;
export const bulkActions = ["suspend", "unsuspend", "delete"] as const;
export type BulkAction = (typeof bulkActions)[number];

export interface BulkPreview {
  rows: number;
  matched: { row: number; username: string; id: string; status: string }[];
  unmatched: { row: number; username: string }[];
}

/** Reads the CSV's username column (a header row "username" is optional). */
export function parseUsernames(csv: string): { row: number; username: string }[] {
  let records: string[][];
  try {
    records = parse(csv, { relax_column_count: true, skip_empty_lines: true, trim: true, bom: true }) as string[][];
  } catch (e) {
    throw new AppError("validation_failed", `file: not a readable CSV file (${(e as Error).message})`, [{ path: "file", rule: "csv", message: "not a readable CSV file" }]);
  }
  if (records.length > MAX_BULK_ROWS + 1) throw new AppError("validation_failed", `file: at most ${MAX_BULK_ROWS} rows`, [{ path: "file", rule: "max_rows", message: `at most ${MAX_BULK_ROWS} rows` }]);
  let col = 0;
  let start = 0;
  const header = records[0]?.map((h) => h.toLowerCase());
  if (header && header.includes("username")) {
    col = header.indexOf("username");
    start = 1;
  }
  const out: { row: number; username: string }[] = [];
  for (let i = start; i < records.length; i++) {
    const u = normaliseUsername(records[i]![col] ?? "");
    if (u) out.push({ row: i + 1, username: u });
  }
  if (!out.length) throw new AppError("validation_failed", "file: no usernames found (one per row, header \"username\")", [{ path: "file", rule: "empty", message: "no usernames found" }]);
  return out;
}

export function previewBulk(ctx: AppContext, networkId: string, csv: string): BulkPreview {
  const rows = parseUsernames(csv);
  const { matched } = matchUsernames(ctx, networkId, rows.map((r) => r.username));
  const p: BulkPreview = { rows: rows.length, matched: [], unmatched: [] };
  for (const r of rows) {
    const m = matched.get(r.username);
    if (m) p.matched.push({ row: r.row, username: m.username, id: m.id, status: m.status });
    else p.unmatched.push(r);
  }
  return p;
}

export interface BulkResult {
  action: BulkAction;
  rows: number;
  matched: number;
  changed: number;
  unmatched: { row: number; username: string }[];
  ms: number;
}

export async function runBulk(ctx: AppContext, actor: Actor, networkId: string, action: BulkAction, csv: string, acknowledgeDeletion = false): Promise<BulkResult> {
  if (action === "delete" && !acknowledgeDeletion) {
    throw new AppError("validation_failed", "acknowledge: deleting users cannot be undone; acknowledge it explicitly", [{ path: "acknowledge", rule: "required", message: "confirm that the deletion cannot be undone" }]);
  }
  const t0 = performance.now();
  const p = previewBulk(ctx, networkId, csv);
  const ids = [...new Set(p.matched.map((m) => m.id))];
  const changed = action === "delete" ? (await deleteUsers(ctx, actor, networkId, ids)).deleted : (await changeUserStatus(ctx, actor, networkId, ids, action === "suspend")).changed;
  return { action, rows: p.rows, matched: p.matched.length, changed, unmatched: p.unmatched, ms: Math.round(performance.now() - t0) };
}

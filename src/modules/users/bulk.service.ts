// Bulk suspend and delete by CSV upload: the file names users by username (one
// column, header "username"); a preview matches rows against this network's
// directory, and the action runs only on matched rows (deletion needs an explicit
// acknowledgement). The action itself runs as a background job: bulk-jobs.service.ts.
import { parse } from "csv-parse/sync";
import type { AppContext } from "../../app/context.ts";
import { AppError } from "../../http/errors.ts";
import { matchUsernames, normaliseUsername } from "./users.service.ts";

export const BULK_TEMPLATE = "username\nalice.example\nbob.example\n";
export const MAX_BULK_ROWS = 1_000_000;
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

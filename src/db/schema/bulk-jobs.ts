// Bulk suspend/unsuspend/delete by CSV runs as a background job: one row per job
// with its progress and, at the end, its result report (unmatched rows as JSON).
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { networks } from "./directory.ts";

export const bulkJobStates = ["queued", "running", "done", "failed"] as const;

export const bulkJobs = sqliteTable(
  "bulk_jobs",
  {
    id: text("id").primaryKey(),
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["suspend", "unsuspend", "delete"] }).notNull(),
    state: text("state", { enum: bulkJobStates }).notNull(),
    total: integer("total").notNull(),
    processed: integer("processed").notNull().default(0),
    matched: integer("matched").notNull().default(0),
    unmatched: integer("unmatched").notNull().default(0),
    changed: integer("changed").notNull().default(0),
    /** JSON: [{row, username}] of the rows that matched no user of the network. */
    report: text("report"),
    error: text("error"),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    startedAt: integer("started_at", { mode: "timestamp_ms" }),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("bulk_jobs_network_idx").on(t.networkId, t.createdAt)],
);

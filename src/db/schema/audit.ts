// The audit log: one row per administrator action (who, what, when, from where).
// Rows are only ever appended.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    /** "admin", "token" or "system" (CLI, start-up). */
    actorType: text("actor_type").notNull(),
    actorId: text("actor_id"),
    actorName: text("actor_name").notNull(),
    action: text("action").notNull(),
    target: text("target"),
    ip: text("ip"),
    /** Network the action concerns, so network administrators can see their part later. */
    networkId: text("network_id"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [index("audit_at_idx").on(t.at), index("audit_action_idx").on(t.action), index("audit_actor_idx").on(t.actorName)],
);

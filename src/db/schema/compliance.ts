// Data retention: one compliance writer per network (its bot user, its device once
// registered, where it writes and whether it is paused). The writer's keys live in its
// state file, never in the database.
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { networks, users } from "./directory.ts";

export const complianceWriters = sqliteTable("compliance_writers", {
  networkId: text("network_id").primaryKey().references(() => networks.id, { onDelete: "cascade" }),
  botUserId: text("bot_user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
  /** local: `outpost serve` runs it; remote: `outpost compliance run` on another host. */
  mode: text("mode", { enum: ["local", "remote"] }).notNull(),
  /** JSON validated by the writer's options schema (directories, prefix, file size). */
  options: text("options", { mode: "json" }).notNull(),
  paused: integer("paused", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

// Administrators (super and network) and their console sessions.
// Administrators never sign in to clients; users never sign in to the consoles.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const administrators = sqliteTable("administrators", {
  id: text("id").primaryKey(),
  username: text("username").notNull().unique(),
  name: text("name").notNull(),
  kind: text("kind", { enum: ["super", "network"] }).notNull(),
  passwordHash: text("password_hash").notNull(),
  mustChangePassword: integer("must_change_password", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

export const adminSessions = sqliteTable(
  "admin_sessions",
  {
    // SHA-256 of the 128-bit session secret: the cookie value itself is never stored.
    idHash: text("id_hash").primaryKey(),
    adminId: text("admin_id")
      .notNull()
      .references(() => administrators.id, { onDelete: "cascade" }),
    csrfToken: text("csrf_token").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }).notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("admin_sessions_admin_idx").on(t.adminId)],
);

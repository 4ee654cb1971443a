// Administrators (super and network), their roles and console sessions.
// Administrators never sign in to clients; users never sign in to the consoles.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** A named set of permissions (see src/modules/access/permissions.ts). */
export const roles = sqliteTable("roles", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  /** The built-in role holds every permission (computed, not stored) and cannot be changed or deleted. */
  builtIn: integer("built_in", { mode: "boolean" }).notNull().default(false),
  permissions: text("permissions", { mode: "json" }).$type<string[]>().notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

export const administrators = sqliteTable("administrators", {
  id: text("id").primaryKey(),
  username: text("username").notNull().unique(),
  name: text("name").notNull(),
  kind: text("kind", { enum: ["super", "network"] }).notNull(),
  passwordHash: text("password_hash").notNull(),
  mustChangePassword: integer("must_change_password", { mode: "boolean" }).notNull().default(false),
  /** Deployment-wide role (super administrators); network administrators get theirs per network later. */
  roleId: text("role_id").references(() => roles.id),
  /** TOTP secret once enrolled, sealed by src/security/secret-box.ts; never logged, exported or put in a crash report. */
  totpSecret: text("totp_secret"),
  /** Secret offered during enrollment, kept until a first code confirms it. */
  totpPendingSecret: text("totp_pending_secret"),
  /** Last accepted TOTP time step: each code is usable once. */
  totpLastStep: integer("totp_last_step"),
  failedSignIns: integer("failed_sign_ins").notNull().default(0),
  lockedAt: integer("locked_at", { mode: "timestamp_ms" }),
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

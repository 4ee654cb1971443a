// Networks, their administrators, security groups and users: who exists and
// which rules apply to them. Message data lives elsewhere, as ciphertext.
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { administrators } from "./admins.ts";

export const networks = sqliteTable("networks", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  federationDomain: text("federation_domain"),
  readReceipts: integer("read_receipts", { mode: "boolean" }).notNull().default(true),
  /** Rooms' Files areas (moderators manage folders and files, members list and download). */
  fileManagement: integer("file_management", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

export const networkAdministrators = sqliteTable(
  "network_administrators",
  {
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    adminId: text("admin_id").notNull().references(() => administrators.id, { onDelete: "cascade" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.networkId, t.adminId] }), index("network_admins_admin_idx").on(t.adminId)],
);

export const securityGroups = sqliteTable(
  "security_groups",
  {
    id: text("id").primaryKey(),
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
    /** JSON validated by securityGroupSettingsSchema. */
    settings: text("settings", { mode: "json" }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("security_groups_name_uq").on(t.networkId, t.name), index("security_groups_network_idx").on(t.networkId)],
);

export const userStatuses = ["pending", "active", "suspended", "restricted"] as const;
export const userTypes = ["user", "webadmin", "bot"] as const;

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    username: text("username").notNull(),
    firstName: text("first_name").notNull().default(""),
    lastName: text("last_name").notNull().default(""),
    securityGroupId: text("security_group_id").notNull().references(() => securityGroups.id),
    status: text("status", { enum: userStatuses }).notNull().default("pending"),
    type: text("type", { enum: userTypes }).notNull().default("user"),
    passwordHash: text("password_hash").notNull(),
    failedSignIns: integer("failed_sign_ins").notNull().default(0),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    // Usernames are unique per network, compared case-insensitively (stored lower-case).
    uniqueIndex("users_network_username_uq").on(t.networkId, t.username),
    index("users_group_idx").on(t.securityGroupId),
    index("users_network_status_idx").on(t.networkId, t.status),
    // The directory counts people apart from bots; this index answers that without reading rows.
    index("users_network_type_idx").on(t.networkId, t.type),
  ],
);

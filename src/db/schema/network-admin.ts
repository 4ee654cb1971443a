// What network administrators manage beyond the directory core: invitations of
// administrators into a network, per-network options, blocked guests, security
// tags, client configuration files and default rooms.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { administrators } from "./admins.ts";
import { networks, securityGroups, users } from "./directory.ts";

/** An administrator invited into a network; accepting turns it into a network_administrators row. */
export const networkInvitations = sqliteTable(
  "network_invitations",
  {
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    adminId: text("admin_id").notNull().references(() => administrators.id, { onDelete: "cascade" }),
    invitedBy: text("invited_by"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.networkId, t.adminId] }), index("network_invitations_admin_idx").on(t.adminId)],
);

export const eventLoggingLevels = ["activity", "ip", "messaging", "userid"] as const;

/** Per-network settings a network administrator sets (one row per network, created on first change); file management is a column of networks. */
export const networkOptions = sqliteTable("network_options", {
  networkId: text("network_id").primaryKey().references(() => networks.id, { onDelete: "cascade" }),
  eventLogging: text("event_logging", { enum: eventLoggingLevels }),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

/** A user of another network this network refuses: nothing they send reaches this network's users. */
export const guestBlocks = sqliteTable(
  "guest_blocks",
  {
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    guestUserId: text("guest_user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    blockedBy: text("blocked_by"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.networkId, t.guestUserId] }), index("guest_blocks_guest_idx").on(t.guestUserId)],
);

/** A coloured label: "network" tags describe the network, "override" tags replace it for a group. */
export const securityTags = sqliteTable(
  "security_tags",
  {
    id: text("id").primaryKey(),
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind", { enum: ["network", "override"] }).notNull(),
    colour: text("colour").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("security_tags_network_idx").on(t.networkId)],
);

export const securityGroupTags = sqliteTable(
  "security_group_tags",
  {
    groupId: text("group_id").notNull().references(() => securityGroups.id, { onDelete: "cascade" }),
    tagId: text("tag_id").notNull().references(() => securityTags.id, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.tagId] })],
);

/** Encrypted client configuration files (the file itself is rebuilt on download from these fields). */
export const clientConfigs = sqliteTable(
  "client_configs",
  {
    id: text("id").primaryKey(),
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    securityGroupId: text("security_group_id").notNull().references(() => securityGroups.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The encrypted file as issued (re-download returns the same bytes; the password is never stored). */
    file: text("file").notNull(),
    pinCertificates: integer("pin_certificates", { mode: "boolean" }).notNull().default(false),
    /** Random public id used in the deeplink and landing page. */
    publicId: text("public_id").notNull().unique(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    expiredAt: integer("expired_at", { mode: "timestamp_ms" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("client_configs_network_idx").on(t.networkId)],
);

/** A room the network's room bot keeps every member of the network (or of one security group) in. */
export const defaultRooms = sqliteTable(
  "default_rooms",
  {
    id: text("id").primaryKey(),
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    /** null: the whole network. */
    securityGroupId: text("security_group_id").references(() => securityGroups.id, { onDelete: "cascade" }),
    conversationId: text("conversation_id").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("default_rooms_network_idx").on(t.networkId)],
);

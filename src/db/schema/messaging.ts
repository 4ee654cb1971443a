// End-to-end messaging state the server keeps: users' root public keys, devices
// (root-signed certificates, auth secrets, prekeys), conversations and members,
// and the packet log: each packet stored once per conversation with its per-device
// key wraps beside it, read by every device through its own cursor.
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { networks, users } from "./directory.ts";

export const userRootKeys = sqliteTable("user_root_keys", {
  userId: text("user_id").primaryKey().references(() => users.id, { onDelete: "cascade" }),
  suite: text("suite").notNull(),
  publicKey: blob("public_key", { mode: "buffer" }).notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

export const devices = sqliteTable(
  "devices",
  {
    /** Chosen by the client (it is inside the root-signed certificate); unique server-wide. */
    id: text("id").primaryKey(),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    certificate: blob("certificate", { mode: "buffer" }).notNull(),
    /** SHA-256 (hex) of the device's bearer secret; the secret itself is never stored. */
    tokenHash: text("token_hash").notNull(),
    name: text("name").notNull().default(""),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("devices_user_idx").on(t.userId)],
);

export const prekeys = sqliteTable(
  "prekeys",
  {
    deviceId: text("device_id").notNull().references(() => devices.id, { onDelete: "cascade" }),
    /** Unsigned 64-bit id in decimal (as the protocol writes it). */
    prekeyId: text("prekey_id").notNull(),
    kind: text("kind", { enum: ["one-time", "last-resort"] }).notNull(),
    signed: blob("signed", { mode: "buffer" }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.prekeyId] }), index("prekeys_device_kind_idx").on(t.deviceId, t.kind)],
);

/** Short-lived encrypted root-key bundles that move a user's root key to a new device. */
export const deviceSyncBundles = sqliteTable("device_sync_bundles", {
  /** SHA-256 (hex) of the code's lookup half; the code itself never reaches the server whole. */
  lookupHash: text("lookup_hash").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
  bundle: blob("bundle", { mode: "buffer" }).notNull(),
  expiresAt: integer("expires_at").notNull(),
});

/**
 * A device's message history handed to the user's new device with a sync code: one archive,
 * sealed by the client under a key from the code (never seen by the server), kept 10 minutes
 * and taken once. At most one per user (a newer code's archive replaces it).
 */
export const deviceSyncHistories = sqliteTable(
  "device_sync_histories",
  {
    /** The same lookup hash as the code's root-key bundle. */
    lookupHash: text("lookup_hash").primaryKey(),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    archive: blob("archive", { mode: "buffer" }).notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("device_sync_histories_user_idx").on(t.userId)],
);

/** The compliance writer's device per network: when set, every packet into the network must carry a wrap for it. */
export const networkComplianceDevices = sqliteTable("network_compliance_devices", {
  networkId: text("network_id").primaryKey().references(() => networks.id, { onDelete: "cascade" }),
  deviceId: text("device_id"),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

export const conversationKinds = ["direct", "group", "room"] as const;

export const conversations = sqliteTable(
  "conversations",
  {
    /** The protocol's conversation id (vgroupid): 64 hex for direct, S/G + 63 hex for rooms/groups. */
    id: text("id").primaryKey(),
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: conversationKinds }).notNull(),
    title: text("title").notNull().default(""),
    description: text("description").notNull().default(""),
    /** Default expiration and burn-on-read (seconds, 0 = none) clients apply to new messages. */
    ttl: integer("ttl").notNull().default(0),
    bor: integer("bor").notNull().default(0),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("conversations_network_idx").on(t.networkId)],
);

export const conversationMembers = sqliteTable(
  "conversation_members",
  {
    conversationId: text("conversation_id").notNull().references(() => conversations.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ["member", "moderator"] }).notNull().default("member"),
    joinedAt: integer("joined_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.userId] }), index("conversation_members_user_idx").on(t.userId)],
);

export const packets = sqliteTable(
  "packets",
  {
    /** Global, increasing: the order of the log and every device's cursor position. */
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    packetId: text("packet_id").notNull(),
    conversationId: text("conversation_id").notNull(),
    senderDeviceId: text("sender_device_id").notNull(),
    /** Signed header, signature and encrypted body exactly as received (everything but the wraps). */
    shared: blob("shared", { mode: "buffer" }).notNull(),
    receivedAt: integer("received_at").notNull(),
    /** Milliseconds since the epoch; the expirer deletes the packet then, delivered or not. */
    expiresAt: integer("expires_at").notNull(),
    /** Burn-on-read seconds from the header: the packet leaves the server once every recipient device has it. */
    bor: integer("bor").notNull().default(0),
    /**
     * 1 when the relay accepted it for part of the conversation only (call keys to a call's
     * devices, a room's file keys to one member): delivered with that mark, so clients accept
     * only the kinds of message that may travel that way.
     */
    directed: integer("directed").notNull().default(0),
  },
  // Every index costs each stored packet a B-tree insert: only idempotency and expiry have one.
  (t) => [uniqueIndex("packets_packet_id_uq").on(t.packetId), index("packets_expires_idx").on(t.expiresAt)],
);

export const packetWraps = sqliteTable(
  "packet_wraps",
  {
    deviceId: text("device_id").notNull(),
    seq: integer("seq").notNull().references(() => packets.seq, { onDelete: "cascade" }),
    /** The wrap entry exactly as on the wire. */
    wrap: blob("wrap", { mode: "buffer" }).notNull(),
  },
  // (device, seq) is each device's queue: delivery is one range scan from its cursor.
  (t) => [primaryKey({ columns: [t.deviceId, t.seq] }), index("packet_wraps_seq_idx").on(t.seq)],
);

export const deviceCursors = sqliteTable("device_cursors", {
  deviceId: text("device_id").primaryKey().references(() => devices.id, { onDelete: "cascade" }),
  /** Highest seq the device has confirmed; delivery resumes after it. */
  ackedSeq: integer("acked_seq").notNull().default(0),
  updatedAt: integer("updated_at").notNull(),
});

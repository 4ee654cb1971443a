// Encrypted file transfer: upload sessions and their chunks (the chunk bytes live in
// <dataDir>/blobs/, content-addressed by the SHA-256 of the ciphertext), the messages
// that refer to each file (what keeps it alive), and rooms' Files areas.
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { networks } from "./directory.ts";

export const files = sqliteTable(
  "files",
  {
    id: text("id").primaryKey(),
    networkId: text("network_id").notNull().references(() => networks.id, { onDelete: "cascade" }),
    /** The conversation the upload was declared for (its members may download before any message refers to it). */
    conversationId: text("conversation_id").notNull(),
    uploaderUserId: text("uploader_user_id").notNull(),
    /** Plaintext bytes; each encrypted chunk is its plaintext plus a fixed overhead, so the server checks exact lengths. */
    size: integer("size").notNull(),
    chunkSize: integer("chunk_size").notNull(),
    chunkCount: integer("chunk_count").notNull(),
    state: text("state", { enum: ["uploading", "complete"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    /** Last chunk or state change: abandoned uploads are swept after a timeout from here. */
    touchedAt: integer("touched_at").notNull(),
    /** Set once a message or a Files area entry first refers to the file: losing the last one then deletes it at once. */
    referencedAt: integer("referenced_at"),
  },
  (t) => [index("files_state_touched_idx").on(t.state, t.touchedAt)],
);

export const fileChunks = sqliteTable(
  "file_chunks",
  {
    fileId: text("file_id").notNull().references(() => files.id, { onDelete: "cascade" }),
    idx: integer("idx").notNull(),
    /** SHA-256 (hex) of the encrypted chunk: also its blob name. */
    hash: text("hash").notNull(),
    length: integer("length").notNull(),
  },
  (t) => [primaryKey({ columns: [t.fileId, t.idx] }), index("file_chunks_hash_idx").on(t.hash)],
);

/** A message (packet) that carries a file's key: the file lives while one of these does. */
export const fileRefs = sqliteTable(
  "file_refs",
  {
    fileId: text("file_id").notNull().references(() => files.id, { onDelete: "cascade" }),
    conversationId: text("conversation_id").notNull(),
    packetId: text("packet_id").notNull(),
    createdAt: integer("created_at").notNull(),
    /** The message's expiration as the relay computes it (ms since the epoch). */
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.fileId, t.packetId] }), index("file_refs_expires_idx").on(t.expiresAt), index("file_refs_conversation_idx").on(t.conversationId)],
);

/** A room's Files area: folders and files (a file entry keeps its file alive). Root entries have parentId "". */
export const roomFileEntries = sqliteTable(
  "room_file_entries",
  {
    id: text("id").primaryKey(),
    roomId: text("room_id").notNull(),
    parentId: text("parent_id").notNull().default(""),
    kind: text("kind", { enum: ["folder", "file"] }).notNull(),
    name: text("name").notNull(),
    fileId: text("file_id").references(() => files.id, { onDelete: "cascade" }),
    size: integer("size").notNull().default(0),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("room_file_entries_name_uq").on(t.roomId, t.parentId, t.name), index("room_file_entries_file_idx").on(t.fileId)],
);

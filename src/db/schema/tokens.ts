// API access tokens: bearer secrets for scripts, stored only as SHA-256.
// Deployment-wide when network_id is null; network-scoped ones come later.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { administrators, roles } from "./admins.ts";
import { networks } from "./directory.ts";

export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    label: text("label").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    /** The first characters of the token, shown in lists so people can tell tokens apart. */
    prefix: text("prefix").notNull(),
    roleId: text("role_id").notNull().references(() => roles.id),
    networkId: text("network_id").references(() => networks.id, { onDelete: "cascade" }),
    createdBy: text("created_by").references(() => administrators.id, { onDelete: "set null" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("api_tokens_network_idx").on(t.networkId)],
);

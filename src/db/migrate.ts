// Applies the embedded migrations through drizzle's own migrator logic.
import type { Storage } from "./client.ts";
import { migrations } from "./migrations.gen.ts";

type SyncDialect = { migrate(m: unknown, session: unknown, config: unknown): void };

export function applyMigrations(storage: Storage): { applied: number; total: number } {
  const before = appliedCount(storage);
  const db = storage.writeDb as unknown as { dialect: SyncDialect; session: unknown };
  db.dialect.migrate(migrations, db.session, { migrationsTable: "__drizzle_migrations" });
  return { applied: appliedCount(storage) - before, total: migrations.length };
}

export function appliedCount(storage: Storage): number {
  const exists = storage.writerConn.query("select 1 from sqlite_master where type='table' and name='__drizzle_migrations'").get();
  if (!exists) return 0;
  return (storage.writerConn.query("select count(*) as n from __drizzle_migrations").get() as { n: number }).n;
}

export function pendingMigrations(storage: Storage): number {
  return migrations.length - appliedCount(storage);
}

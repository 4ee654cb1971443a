// Opens the SQLite database: one writer connection (every write goes through
// it, via the group-commit writer) and a few read-only connections.
import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as schema from "./schema/index.ts";

export type Db = BunSQLiteDatabase<typeof schema>;

export interface Storage {
  path: string;
  sqliteVersion: string;
  writerConn: Database;
  /** drizzle over the writer connection: use only inside writer.run() callbacks or migrations. */
  writeDb: Db;
  readConns: Database[];
  /** drizzle over a read connection (round-robin). */
  read(): Db;
  close(): void;
}

function applyPragmas(conn: Database, readonly: boolean) {
  conn.exec("PRAGMA busy_timeout = 5000");
  conn.exec("PRAGMA foreign_keys = ON");
  if (!readonly) {
    conn.exec("PRAGMA journal_mode = WAL");
    // FULL: a commit is on disk before we acknowledge it. Throughput comes from group commit.
    conn.exec("PRAGMA synchronous = FULL");
    conn.exec("PRAGMA temp_store = MEMORY");
  }
}

export function openStorage(dataDir: string, opts: { readConnections?: number } = {}): Storage {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, "outpost.db");
  const writerConn = new Database(path, { create: true, strict: true });
  applyPragmas(writerConn, false);
  const readConns: Database[] = [];
  for (let i = 0; i < (opts.readConnections ?? 2); i++) {
    const c = new Database(path, { readonly: true, strict: true });
    applyPragmas(c, true);
    readConns.push(c);
  }
  const readDbs = readConns.map((c) => drizzle(c, { schema }));
  let next = 0;
  const { version } = writerConn.query("select sqlite_version() as version").get() as { version: string };
  return {
    path,
    sqliteVersion: version,
    writerConn,
    writeDb: drizzle(writerConn, { schema }),
    readConns,
    read() {
      next = (next + 1) % readDbs.length;
      return readDbs[next]!;
    },
    close() {
      for (const c of readConns) c.close();
      writerConn.close();
    },
  };
}

/** Bun bundles SQLite; releases before 3.51.3 have a WAL-reset race between writers/checkpointers. */
export function sqliteHasWalResetFix(version: string): boolean {
  const [a = 0, b = 0, c = 0] = version.split(".").map(Number);
  return a > 3 || (a === 3 && (b > 51 || (b === 51 && c >= 3)));
}

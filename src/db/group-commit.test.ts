import { Database } from "bun:sqlite";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openStorage } from "./client.ts";
import { GroupCommitWriter } from "./group-commit.ts";
import { applyMigrations, appliedCount, pendingMigrations } from "./migrate.ts";
import { migrations } from "./migrations.gen.ts";
import { tempDir } from "../../test/support/server.ts";

function setup() {
  const dir = tempDir("outpost-db-");
  const storage = openStorage(dir, { readConnections: 1 });
  storage.writerConn.exec("create table t (id integer primary key, v text not null check (length(v) > 0))");
  return { dir, storage, writer: new GroupCommitWriter(storage.writerConn, { delayMs: 5, maxBatch: 100 }) };
}

/** Counts rows through a brand-new connection: only committed data is visible there. */
function committedRows(dir: string): number {
  const c = new Database(join(dir, "outpost.db"), { readonly: true });
  const n = (c.query("select count(*) as n from t").get() as { n: number }).n;
  c.close();
  return n;
}

describe("group commit", () => {
  it("sets WAL, synchronous=FULL and foreign keys on the writer", () => {
    const { storage } = setup();
    expect(storage.writerConn.query("pragma journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(storage.writerConn.query("pragma synchronous").get()).toEqual({ synchronous: 2 });
    expect(storage.writerConn.query("pragma foreign_keys").get()).toEqual({ foreign_keys: 1 });
    storage.close();
  });

  it("resolves a caller only after its batch is committed", async () => {
    const { dir, storage, writer } = setup();
    let committedAtResolve = -1;
    const p = writer.run(() => storage.writerConn.run("insert into t (v) values ('a')")).then(() => {
      committedAtResolve = committedRows(dir);
    });
    // Queued, not yet committed: another connection sees nothing.
    expect(committedRows(dir)).toBe(0);
    await p;
    expect(committedAtResolve).toBe(1);
    storage.close();
  });

  it("commits many callers in one transaction", async () => {
    const { storage, writer } = setup();
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.run(() => storage.writerConn.run("insert into t (v) values (?)", [`v${i}`]))));
    expect(writer.stats.writes).toBe(50);
    expect(writer.stats.batches).toBe(1);
    storage.close();
  });

  it("keeps the rest of the batch when one caller's write fails", async () => {
    const { dir, storage, writer } = setup();
    const results = await Promise.allSettled([
      writer.run(() => storage.writerConn.run("insert into t (v) values ('ok1')")),
      writer.run(() => {
        storage.writerConn.run("insert into t (v) values ('partial')");
        storage.writerConn.run("insert into t (v) values ('')"); // violates the check: this caller is rolled back whole
      }),
      writer.run(() => storage.writerConn.run("insert into t (v) values ('ok2')")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(writer.stats.batches).toBe(1);
    expect(committedRows(dir)).toBe(2);
    const values = storage.writerConn.query("select v from t order by id").all();
    expect(values).toEqual([{ v: "ok1" }, { v: "ok2" }]);
    storage.close();
  });

  it("returns the value of the write function", async () => {
    const { storage, writer } = setup();
    const id = await writer.run(() => Number(storage.writerConn.run("insert into t (v) values ('x')").lastInsertRowid));
    expect(id).toBe(1);
    storage.close();
  });

  it("splits a large queue into batches of at most maxBatch", async () => {
    const { storage, writer } = setup();
    await Promise.all(Array.from({ length: 250 }, () => writer.run(() => storage.writerConn.run("insert into t (v) values ('x')"))));
    expect(writer.stats.batches).toBeGreaterThanOrEqual(3);
    expect(writer.stats.writes).toBe(250);
    storage.close();
  });

  it("drain waits for queued writes; close refuses new ones", async () => {
    const { dir, storage, writer } = setup();
    void writer.run(() => storage.writerConn.run("insert into t (v) values ('x')"));
    await writer.drain();
    expect(committedRows(dir)).toBe(1);
    writer.close();
    await expect(writer.run(() => 1)).rejects.toThrow(/closed/);
    storage.close();
  });
});

describe("migrations", () => {
  it("apply to an empty database and are not re-applied", () => {
    const storage = openStorage(tempDir("outpost-mig-"), { readConnections: 1 });
    expect(pendingMigrations(storage)).toBe(migrations.length);
    expect(applyMigrations(storage)).toEqual({ applied: migrations.length, total: migrations.length });
    expect(pendingMigrations(storage)).toBe(0);
    expect(applyMigrations(storage)).toEqual({ applied: 0, total: migrations.length });
    expect(appliedCount(storage)).toBe(migrations.length);
    const tables = storage.writerConn.query("select name from sqlite_master where type='table'").all() as { name: string }[];
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["administrators", "networks", "users", "security_groups"]));
    storage.close();
  });

  it("the embedded module matches the SQL files drizzle-kit wrote", async () => {
    const { readFileSync } = await import("node:fs");
    const dir = fileURLToPath(new URL("./migrations", import.meta.url));
    for (const m of migrations) {
      expect(readFileSync(join(dir, `${m.tag}.sql`), "utf8").split("--> statement-breakpoint")).toEqual(m.sql);
    }
  });
});

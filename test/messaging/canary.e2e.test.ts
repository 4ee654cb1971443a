// The server never sees plaintext: a canary string sent in every kind of message appears
// nowhere in the SQLite files (database, WAL, shared memory) or in the logs at trace level.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { rmSync, writeFileSync } from "node:fs";
import { expect, test } from "vitest";
import { startWorld, until, inbox } from "./world.ts";

const CANARY = "CANARY-7f3a9c-plaintext-must-never-reach-the-server";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function scan(dir: string): string[] {
  const needles = [Buffer.from(CANARY, "utf8"), Buffer.from(CANARY, "utf16le"), Buffer.from(Buffer.from(CANARY).toString("base64").slice(0, 40))];
  return filesUnder(dir).filter((f) => {
    const bytes = readFileSync(f);
    return needles.some((n) => bytes.includes(n));
  });
}

test("a canary never reaches the database files or the logs", async () => {
  const w = await startWorld({ keepData: true, overrides: { logLevel: "trace", eventLogging: "userid" } });
  try {
    await w.addUsers(["alice", "bob", "carol"]);
    const alice = await w.client("alice");
    const bob = await w.client("bob");
    const carol = await w.client("carol");
    const got = inbox(bob);
    const dm = (await alice.openDirect({ userId: bob.userId })).id;
    const room = await alice.createRoom({ title: "ops", memberIds: [bob.userId, carol.userId] });
    const m = await alice.sendText(dm, `${CANARY} https://example.org/${CANARY}`);
    await alice.edit(dm, m.packetId, `${CANARY} edited`);
    await alice.sendText(room.id, CANARY);
    await alice.sendLocation(room.id, { latitude: 1, longitude: 2 });
    await bob.sendText(dm, CANARY, { ttl: 3600, bor: 60 });
    await until(() => got.filter((x) => JSON.stringify(x.content).includes(CANARY)).length === 3, "bob receives the canaries");
    await w.server.ctx.writer.drain();

    const files = filesUnder(w.server.dataDir).map((f) => f.slice(w.server.dataDir.length));
    expect(files).toEqual(expect.arrayContaining(["/outpost.db", "/outpost.db-wal"]));
    expect(scan(w.server.dataDir)).toEqual([]);
    const log = w.server.ctx.log.ring.snapshot();
    expect(log.length).toBeGreaterThan(10);
    expect(log.some((l) => l.includes('"level":10') || l.includes('"level":20'))).toBe(true);
    expect(log.filter((l) => l.includes(CANARY))).toEqual([]);
  } finally {
    await w.close();
  }
  // After a clean stop the WAL is checkpointed into the database file: scan that too.
  expect(scan(w.server.dataDir)).toEqual([]);
  // The scanner itself finds the canary where it is (so the checks above can fail).
  writeFileSync(join(w.server.dataDir, "control.bin"), Buffer.concat([Buffer.alloc(100), Buffer.from(CANARY), Buffer.alloc(100)]));
  expect(scan(w.server.dataDir)).toEqual([join(w.server.dataDir, "control.bin")]);
  rmSync(w.server.dataDir, { recursive: true, force: true });
});

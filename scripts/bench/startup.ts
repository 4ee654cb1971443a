// Start-up and storage benchmark: binary size, exec → /readyz ok (first and
// warm start), idle RSS, and group-commit throughput at synchronous=FULL for
// batch sizes 1, 10, 100, 1000. Medians of several runs. Needs `npm run build`.
// Run: bun scripts/bench/startup.ts [path/to/outpost]
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openStorage } from "../../src/db/client.ts";
import { GroupCommitWriter } from "../../src/db/group-commit.ts";

const binary = resolve(process.argv[2] ?? join(import.meta.dir, "..", "..", "dist", "outpost"));
if (!existsSync(binary)) {
  console.error(`no binary at ${binary}: run npm run build first`);
  process.exit(1);
}
const RUNS = Number(process.env.RUNS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** Starts the binary on dataDir and returns ms from exec to the first /readyz 200, and RSS after 1 s idle. */
async function startOnce(dataDir: string): Promise<{ readyMs: number; rss: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = Bun.spawn([binary, "serve", "--port", String(port), "--data-dir", dataDir, "--log-level", "warn"], { stdout: "ignore", stderr: "ignore" });
  let readyMs = -1;
  while (performance.now() - t0 < 10_000) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (r.status === 200) {
        readyMs = performance.now() - t0;
        break;
      }
    } catch {
      /* not up yet */
    }
    await Bun.sleep(2);
  }
  await Bun.sleep(1000);
  const rss = rssMiB(proc.pid);
  proc.kill("SIGTERM");
  await proc.exited;
  if (readyMs < 0) throw new Error("server did not become ready in 10 s");
  return { readyMs, rss };
}

const first: number[] = [];
const warm: number[] = [];
const rss: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), "outpost-bench-"));
  const a = await startOnce(dir); // first start: creates the database and the first administrator
  const b = await startOnce(dir); // warm start: the usual restart of an existing box
  first.push(a.readyMs);
  warm.push(b.readyMs);
  rss.push(b.rss);
  rmSync(dir, { recursive: true, force: true });
}

async function groupCommit(batch: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "outpost-gc-"));
  const storage = openStorage(dir, { readConnections: 1 });
  storage.writerConn.exec("create table bench (id integer primary key, conv text not null, body blob not null)");
  const insert = storage.writerConn.prepare("insert into bench (conv, body) values (?, ?)");
  const writer = new GroupCommitWriter(storage.writerConn, { delayMs: 0, maxBatch: batch });
  const body = new Uint8Array(64);
  const total = batch === 1 ? 300 : batch === 10 ? 3000 : 50_000;
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) pending.push(writer.run(() => insert.run("c" + (i % 100), body)));
  await Promise.all(pending);
  const rate = total / ((performance.now() - t0) / 1000);
  const sync = storage.writerConn.query("pragma synchronous").get() as { synchronous: number };
  if (sync.synchronous !== 2) throw new Error("benchmark must run at synchronous=FULL");
  storage.close();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

const rates: Record<number, number> = {};
for (const batch of [1, 10, 100, 1000]) {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(await groupCommit(batch));
  rates[batch] = median(runs);
}

const size = statSync(binary).size / 1024 / 1024;
const rows: [string, string, string][] = [
  ["binary size", `${size.toFixed(1)} MiB`, "-"],
  ["exec → /readyz ok, first start", `${median(first).toFixed(0)} ms`, "< 300 ms"],
  ["exec → /readyz ok, warm start", `${median(warm).toFixed(0)} ms`, "< 300 ms"],
  ["idle RSS after start", `${median(rss).toFixed(1)} MiB`, "< 80 MB"],
  ...[1, 10, 100, 1000].map((b): [string, string, string] => [`group commit, batch ${b} (FULL)`, `${Math.round(rates[b]!).toLocaleString("en")} rows/s`, b >= 100 ? "≥ 50,000 rows/s" : "-"]),
];
console.log(`\nOutpost start-up and storage (median of ${RUNS} start runs, 3 commit runs)\n`);
console.log(`| figure | measured | target |\n|---|---|---|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);

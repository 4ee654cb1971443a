// Compliance writer benchmark: lines/s retained with fsync (group-flushed), lines per fsync,
// and the process RSS after N messages, for a few in-flight windows (how many accepts the
// integration keeps outstanding). Each run is bounded in time. Target: ≥ 10,000 lines/s.
// Run: bun scripts/bench/compliance.ts [messages=1000000] [dir=$TMPDIR]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sampleRecord } from "../../src/compliance/sample-records.ts";
import { ComplianceWriter } from "../../src/compliance/writer.ts";

const total = Number(process.argv[2] ?? 1_000_000);
const base = process.argv[3] ?? tmpdir();
const MAX_SECONDS = Number(process.env.MAX_SECONDS ?? 90);
const mib = (b: number) => (b / 1024 / 1024).toFixed(1);

interface Row {
  inFlight: number;
  messages: number;
  seconds: number;
  linesPerSec: number;
  mibPerSec: string;
  linesPerFsync: string;
  files: number;
  rssMiB: string;
  peakRssMiB: string;
}

async function run(inFlight: number, count: number): Promise<Row> {
  const dir = mkdtempSync(join(base, "compliance-bench-"));
  try {
    Bun.gc(true);
    const writer = await ComplianceWriter.open({ messagesDir: join(dir, "messages"), attachmentsDir: join(dir, "attachments"), maxFileBytes: 256 * 1024 * 1024 });
    let next = 0;
    let peak = process.memoryUsage().rss;
    const deadline = performance.now() + MAX_SECONDS * 1000;
    const t0 = performance.now();
    const lane = async () => {
      while (next < count && performance.now() < deadline) {
        const i = next++;
        await writer.accept(sampleRecord(i));
        if ((i & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const seconds = (performance.now() - t0) / 1000;
    const s = writer.status();
    await writer.close();
    Bun.gc(true);
    const rss = process.memoryUsage().rss;
    return {
      inFlight,
      messages: s.linesWritten,
      seconds: Number(seconds.toFixed(1)),
      linesPerSec: Math.round(s.linesWritten / seconds),
      mibPerSec: mib(s.bytesWritten / seconds),
      linesPerFsync: (s.linesWritten / s.flushes).toFixed(1),
      files: s.files,
      rssMiB: mib(rss),
      peakRssMiB: mib(Math.max(peak, rss)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`compliance writer: ${total.toLocaleString("en")} messages into ${base} (each run stops after ${MAX_SECONDS} s), Bun ${Bun.version}`);
const rows: Row[] = [];
rows.push(await run(1, Math.min(total, 5_000)));
rows.push(await run(100, Math.min(total, 200_000)));
rows.push(await run(1000, total));
console.table(rows);
const main = rows.at(-1)!;
console.log(`${main.messages.toLocaleString("en")} messages at ${main.linesPerSec.toLocaleString("en")} lines/s (target 10,000): ${main.linesPerSec >= 10_000 ? "meets" : "MISSES"} the relay target; RSS after the run ${main.rssMiB} MiB`);

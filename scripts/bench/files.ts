// Encrypted file transfer benchmark on loopback, server in its own process:
// upload (encrypt + chunk PUTs) and download (parallel chunk GETs + verify + decrypt + save)
// of one file through the SDK, with the server's resident memory sampled from /proc during both.
// Targets (TARGETS.md / issue 6): ≥ 200 MB/s each way, server RSS growth < 64 MB.
//
//   bun scripts/bench/files.ts [--mb 1024] [--concurrency 4]
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { files, fileContentOf, MessageType, type ReceivedMessage } from "../../src/client/index.ts";
import { freePort, spawnServer, tempDir } from "../../test/support/server.ts";
import { registerAll, seedNetwork } from "../lib/messaging-seed.ts";

const { values } = parseArgs({ options: { mb: { type: "string", default: "1024" }, concurrency: { type: "string", default: "4" } } });
const SIZE = Number(values.mb) * 1024 * 1024;
const CONCURRENCY = Number(values.concurrency);
const MB = 1e6;

function rssKb(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)![1]), hwm: Number(/VmHWM:\s+(\d+)/.exec(s)![1]) };
}

/** CPU seconds (user + system) a process has used: with the machine shared, this is the load-independent cost. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Samples the server's RSS every 20 ms while `run` goes; returns its peak and both sides' CPU time. */
async function sampled<T>(pid: number, run: () => Promise<T>) {
  let peak = rssKb(pid).rss;
  const timer = setInterval(() => (peak = Math.max(peak, rssKb(pid).rss)), 20);
  const t0 = performance.now();
  const server0 = cpuSeconds(pid);
  const client0 = cpuSeconds(process.pid);
  try {
    const result = await run();
    return { result, peakKb: Math.max(peak, rssKb(pid).rss), seconds: (performance.now() - t0) / 1000, serverCpu: cpuSeconds(pid) - server0, clientCpu: cpuSeconds(process.pid) - client0 };
  } finally {
    clearInterval(timer);
  }
}

function costs(what: string, s: { seconds: number; serverCpu: number; clientCpu: number }) {
  return `          ${what} CPU: server ${s.serverCpu.toFixed(2)} s, client ${s.clientCpu.toFixed(2)} s (wall ${s.seconds.toFixed(2)} s; machine load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]} on ${navigator.hardwareConcurrency} cores)`;
}

const dataDir = tempDir("outpost-bench-files-");
const work = tempDir("outpost-bench-files-io-");
const networkId = await seedNetwork(dataDir, ["sender", "receiver"]);
const server = await spawnServer({ dataDir, port: await freePort(), env: { OUTPOST_LOG_LEVEL: "warn" } });
const pid = server.proc.pid;
try {
  const [sender, receiver] = await registerAll(server.url, networkId, ["sender", "receiver"], 4);
  await Promise.all([sender!.connect(), receiver!.connect()]);
  const dm = (await sender!.openDirect({ userId: receiver!.userId })).id;
  // Warm the routes and the conversation caches with a small file first.
  await files(sender!).sendFile(dm, { name: "warm", bytes: new Uint8Array(1000) });

  const input = join(work, "in.bin");
  const block = crypto.getRandomValues(new Uint8Array(65536));
  const big = new Uint8Array(16 * 1024 * 1024);
  for (let off = 0; off < big.length; off += block.length) big.set(block.map((b) => b ^ (off >> 16)), off);
  writeFileSync(input, "");
  for (let off = 0; off < SIZE; off += big.length) writeFileSync(input, big.subarray(0, Math.min(big.length, SIZE - off)), { flag: "a" });

  const received: ReceivedMessage[] = [];
  receiver!.on("message", (e) => e.message.type === MessageType.file && received.push(e.message));
  Bun.gc(true);
  await Bun.sleep(500);
  const base = rssKb(pid);
  console.log(`server pid ${pid}: RSS before ${(base.rss / 1024).toFixed(1)} MiB; file ${(SIZE / MB).toFixed(0)} MB, 4 MiB chunks, ${CONCURRENCY} in flight`);

  const up = await sampled(pid, () => files(sender!).sendFile(dm, { name: "big.bin", path: input }, { concurrency: CONCURRENCY }));
  console.log(`upload:   ${(SIZE / MB / up.seconds).toFixed(0)} MB/s (${up.seconds.toFixed(2)} s incl. encryption); server peak RSS ${(up.peakKb / 1024).toFixed(1)} MiB (+${((up.peakKb - base.rss) / 1024).toFixed(1)} MiB)`);

  console.log(costs("upload", up));
  const deadline = Date.now() + 10_000;
  while (!received.some((m) => m.packetId === up.result.packetId) && Date.now() < deadline) await Bun.sleep(5);
  const content = fileContentOf(received.find((m) => m.packetId === up.result.packetId)!.content);
  const output = join(work, "out.bin");
  const down = await sampled(pid, () => files(receiver!).saveFile(content, output, { concurrency: CONCURRENCY }));
  console.log(`download: ${(SIZE / MB / down.seconds).toFixed(0)} MB/s (${down.seconds.toFixed(2)} s incl. verify, decrypt, write); server peak RSS ${(down.peakKb / 1024).toFixed(1)} MiB (+${((down.peakKb - base.rss) / 1024).toFixed(1)} MiB)`);
  console.log(costs("download", down));
  const growth = (Math.max(up.peakKb, down.peakKb) - base.rss) / 1024;
  console.log(`server RSS growth during both: ${growth.toFixed(1)} MiB (VmHWM now ${(rssKb(pid).hwm / 1024).toFixed(1)} MiB)`);
  // Client and server each run on their own core: on an otherwise idle machine the rate is bounded
  // by the busier side's CPU time. Printed as an estimate beside the measured wall-clock rates.
  const bound = (x: { serverCpu: number; clientCpu: number }) => (SIZE / MB / Math.max(x.serverCpu, x.clientCpu)).toFixed(0);
  console.log(`CPU-bound rate (size / busier side's CPU seconds): upload ${bound(up)} MB/s, download ${bound(down)} MB/s`);
  const ok = SIZE / MB / up.seconds >= 200 && SIZE / MB / down.seconds >= 200 && growth < 64;
  console.log(ok ? "targets met" : "targets NOT met (≥ 200 MB/s each way, RSS growth < 64 MiB)");
  await Promise.all([sender!.close(), receiver!.close()]);
} finally {
  await server.signal("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}

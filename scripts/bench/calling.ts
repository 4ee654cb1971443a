// Calling node benchmark (loopback only, bounded in time): audio-only calls of 10, 25,
// 50 and 100 SDK participants, each sending 50 packets/s of Opus-sized (80-byte) payloads,
// end-to-end encrypted; one active speaker is forwarded to everyone else.
// Prints forwarded packets/s, the node's CPU, loss, and the latency the hop adds (p50/p99).
// Usage: bun scripts/bench/calling.ts [--seconds 5] [--sizes 10,25,50,100] [--plain]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CallKeyring, newCallKey } from "../../src/calling/frame-crypto.ts";
import { CallParticipant } from "../../src/calling/participant.ts";
import { secretPath } from "../../src/calling/secret.ts";
import { READY_MARKER } from "../../src/calling/supervisor.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const SECONDS = Number(arg("seconds", "5"));
const SIZES = arg("sizes", "10,25,50,100").split(",").map(Number);
const E2EE = !process.argv.includes("--plain");
const PPS = 50;
const PAYLOAD = 80;
const HARD_LIMIT_MS = 240_000;

const hardStop = setTimeout(() => {
  process.stderr.write("benchmark exceeded its time limit\n");
  process.exit(2);
}, HARD_LIMIT_MS);

const ticksPerSecond = 100; // /proc/<pid>/stat counts in USER_HZ
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond;
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const dataDir = mkdtempSync(join(tmpdir(), "outpost-bench-calling-"));
const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const node = Bun.spawn(
  [process.execPath, main, "calling-node", "--supervised", "--data-dir", dataDir, "--log-level", "warn", "--calling-control-port", "0", "--calling-tcp-port", "0", "--calling-udp-port-min", "43000", "--calling-udp-port-max", "44999"],
  { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
);
const ready = await (async () => {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of node.stdout) {
    buf += dec.decode(chunk);
    const line = buf.split("\n").find((l) => l.startsWith(READY_MARKER));
    if (line) return JSON.parse(line.slice(READY_MARKER.length)) as { url: string };
  }
  throw new Error("calling node did not start");
})();
const secret = readFileSync(secretPath(dataDir), "utf8").trim();
const signallingUrl = ready.url.replace("http", "ws") + "/signal";

async function control<T>(path: string, body?: unknown): Promise<T> {
  const r = await fetch(ready.url + path, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return (await r.json()) as T;
}

interface Row {
  participants: number;
  forwardedPerSecond: number;
  nodeCpuPercent: number;
  cpuPerForwardedUs: number;
  lossPercent: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

async function run(n: number): Promise<Row> {
  const callId = `bench-${n}`;
  const key = newCallKey();
  const ps: CallParticipant[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, async (_, j) => {
        const { token } = await control<{ token: string }>("/control/join-grants", { callId, participantId: `p${i + j}`, kinds: { audio: true, video: false, screen: false } });
        const keyring = new CallKeyring();
        await keyring.install(key);
        return CallParticipant.join({ signallingUrl, token, send: ["audio"], receive: { audio: 3 }, keyring, e2ee: E2EE, timeoutMs: 30_000 });
      }),
    );
    ps.push(...batch);
  }
  const speaker = ps[0]!;
  const latencies: number[] = [];
  let received = 0;
  let measuring = false;
  for (const p of ps.slice(1)) {
    p.onMedia((m) => {
      if (!measuring || m.from !== speaker.participantId) return;
      received++;
      const sentAt = new DataView(m.payload.buffer, m.payload.byteOffset).getFloat64(4);
      latencies.push(performance.now() - sentAt);
    });
  }
  let sentBySpeaker = 0;
  let seq = 0;
  const tick = async () => {
    seq++;
    await Promise.all(
      ps.map((p, i) => {
        const payload = new Uint8Array(PAYLOAD);
        const v = new DataView(payload.buffer);
        v.setUint32(0, seq);
        v.setFloat64(4, performance.now());
        if (i === 0 && measuring) sentBySpeaker++;
        // RFC 6464 levels: the speaker at -20 dBov, everyone else silent (127).
        return p.sendRtp("audio", payload, { audioLevel: i === 0 ? 20 : 127 }).catch(() => {});
      }),
    );
  };
  // Paced by the clock, not by setInterval alone: a late tick sends its packets anyway.
  let stop = false;
  const pacer = (async () => {
    const start = performance.now();
    let k = 0;
    while (!stop) {
      await tick();
      k++;
      const wait = start + (k * 1000) / PPS - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
  })();
  // Warm-up: the node picks the active speaker from the audio levels.
  await Bun.sleep(1500);
  const statsBefore = await control<{ calls: { callId: string; forwardedPackets: number }[] }>("/control/stats");
  const fwdBefore = statsBefore.calls.find((c) => c.callId === callId)?.forwardedPackets ?? 0;
  const cpuBefore = cpuSeconds(node.pid);
  const t0 = performance.now();
  measuring = true;
  await Bun.sleep(SECONDS * 1000);
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(node.pid) - cpuBefore;
  const statsAfter = await control<{ calls: { callId: string; forwardedPackets: number }[] }>("/control/stats");
  const fwd = (statsAfter.calls.find((c) => c.callId === callId)?.forwardedPackets ?? 0) - fwdBefore;
  stop = true;
  await pacer;
  // Packets still in flight when measuring stopped count as delivered if they arrive shortly after.
  measuring = true;
  await Bun.sleep(300);
  measuring = false;
  const expected = sentBySpeaker * (n - 1);
  await Promise.all(ps.map((p) => p.leave()));
  latencies.sort((a, b) => a - b);
  return {
    participants: n,
    forwardedPerSecond: Math.round(fwd / elapsed),
    nodeCpuPercent: Math.round((cpu / elapsed) * 1000) / 10,
    cpuPerForwardedUs: fwd ? Math.round((cpu / fwd) * 1e6) : NaN,
    lossPercent: expected ? Math.max(0, Math.round((1 - received / expected) * 10000) / 100) : NaN,
    latencyP50Ms: Math.round(pct(latencies, 50) * 100) / 100,
    latencyP99Ms: Math.round(pct(latencies, 99) * 100) / 100,
  };
}

const rows: Row[] = [];
try {
  process.stdout.write(`calling node bench: ${SECONDS}s per size, ${PPS} packets/s per participant, ${PAYLOAD}-byte payloads, end-to-end encryption ${E2EE ? "on" : "off"}\n`);
  for (const n of SIZES) {
    const r = await run(n);
    rows.push(r);
    process.stdout.write(
      `${String(r.participants).padStart(4)} participants: ${String(r.forwardedPerSecond).padStart(6)} forwarded/s, node CPU ${String(r.nodeCpuPercent).padStart(5)} % (${r.cpuPerForwardedUs} µs/packet), loss ${r.lossPercent} %, latency p50 ${r.latencyP50Ms} ms p99 ${r.latencyP99Ms} ms\n`,
    );
    await Bun.sleep(500);
  }
  process.stdout.write(JSON.stringify({ bench: "calling", e2ee: E2EE, seconds: SECONDS, rows }) + "\n");
} finally {
  node.kill("SIGTERM");
  await Promise.race([node.exited, Bun.sleep(3000)]);
  if (node.exitCode === null) node.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
  clearTimeout(hardStop);
}
process.exit(0);

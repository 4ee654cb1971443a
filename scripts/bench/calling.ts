// Calling node benchmark (loopback only, bounded in time): audio-only calls of 10, 25,
// 50 and 100 SDK participants, each sending 50 packets/s of Opus-sized (80-byte) payloads,
// end-to-end encrypted; one active speaker is forwarded to everyone else.
// Prints forwarded packets/s, the node's CPU, loss, and latency through the node (p50/p99).
// The participants run in two client processes so that the clients, not the node, are
// not what saturates first on a small machine.
// --listen-only: only the speaker sends; everyone else joins to receive (the peer's workload, "1
// speaker → 99 listeners"); by default every participant sends 50 packets/s as in a call, so the
// node also takes in and drops the silent ones (half its work at 100 participants).
// Usage: bun scripts/bench/calling.ts [--seconds 5] [--sizes 10,25,50,100] [--plain] [--listen-only] [--clients 2] [--cpu-prof <dir>]
// (--cpu-prof: the node process writes a Bun CPU profile, .cpuprofile and markdown, into <dir> when it stops.)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CallKeyring } from "../../src/calling/frame-crypto.ts";
import { CallParticipant } from "../../src/calling/participant.ts";
import { secretPath } from "../../src/calling/secret.ts";
import { READY_MARKER } from "../../src/calling/supervisor.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const PPS = 50;
/** The C peer (Janus 1.1.2 videoroom, DTLS-SRTP) on the same shape of call: design/TARGETS.md. */
const PEER_US = 45;
const PAYLOAD = 80;
/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

async function* lines(stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>) {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
}

interface WorkerJob {
  controlUrl: string;
  secret: string;
  signallingUrl: string;
  callId: string;
  from: number;
  to: number;
  e2ee: boolean;
  listenOnly: boolean;
  key: { keyId: number; raw: number[] };
}

/** Client process: hosts participants [from, to) of one call; p0 is the speaker. */
async function runWorker() {
  const input = lines(Bun.stdin.stream());
  const next = async () => (await input.next()).value as string;
  const say = (m: object) => process.stdout.write(JSON.stringify(m) + "\n");
  const job = JSON.parse(await next()) as WorkerJob;
  const ps: { p: CallParticipant; index: number }[] = [];
  for (let i = job.from; i < job.to; i += 5) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(5, job.to - i) }, async (_, j) => {
        // On a loaded machine a join can time out; a participant simply joins again (new token).
        for (let attempt = 1; ; attempt++) {
          const r = await fetch(job.controlUrl + "/control/join-grants", {
            method: "POST",
            headers: { authorization: `Bearer ${job.secret}`, "content-type": "application/json" },
            body: JSON.stringify({ callId: job.callId, participantId: `p${i + j}`, kinds: { audio: true, video: false, screen: false } }),
          });
          const { token } = (await r.json()) as { token: string };
          const keyring = new CallKeyring();
          await keyring.install({ keyId: job.key.keyId, raw: new Uint8Array(job.key.raw) });
          try {
            const p = await CallParticipant.join({ signallingUrl: job.signallingUrl, token, send: job.listenOnly && i + j !== 0 ? [] : ["audio"], receive: { audio: 3 }, keyring, e2ee: job.e2ee, timeoutMs: 20_000 });
            return { p, index: i + j };
          } catch (e) {
            if (attempt === 3) throw e;
            process.stderr.write(`p${i + j}: join failed (${(e as Error).message}), joining again\n`);
          }
        }
      }),
    );
    ps.push(...batch);
  }
  say({ joined: ps.length });
  let measuring = false;
  let sentBySpeaker = 0;
  let received = 0;
  const latencies: number[] = [];
  for (const { p, index } of ps) {
    if (index === 0) continue;
    p.onMedia((m) => {
      if (!measuring || m.from !== "p0") return;
      received++;
      latencies.push(now() - new DataView(m.payload.buffer, m.payload.byteOffset).getFloat64(4));
    });
  }
  let stop = false;
  let seq = 0;
  const pacer = (async () => {
    await next(); // "start"
    const start = performance.now();
    for (let k = 1; !stop; k++) {
      seq++;
      await Promise.all(
        (job.listenOnly ? ps.filter((x) => x.index === 0) : ps).map(({ p, index }) => {
          const payload = new Uint8Array(PAYLOAD);
          const v = new DataView(payload.buffer);
          v.setUint32(0, seq);
          v.setFloat64(4, now());
          if (index === 0 && measuring) sentBySpeaker++;
          // RFC 6464 levels: the speaker at -20 dBov, everyone else silent (127).
          return p.sendRtp("audio", payload, { audioLevel: index === 0 ? 20 : 127 }).catch(() => {});
        }),
      );
      const wait = start + (k * 1000) / PPS - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
  })();
  say({ started: true });
  await next(); // "measure"
  measuring = true;
  await next(); // "stop"
  stop = true;
  await pacer;
  await Bun.sleep(300); // packets still in flight count as delivered
  measuring = false;
  say({ sentBySpeaker, received, receivers: ps.filter((x) => x.index !== 0).length, latencies });
  await Promise.all(ps.map(({ p }) => p.leave()));
  process.exit(0);
}

/** CPU seconds of a process so far, user and kernel (the kernel part: UDP receive/send, epoll). */
function cpuTimes(pid: number): { user: number; sys: number } {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return { user: Number(rest[11]) / 100, sys: Number(rest[12]) / 100 }; // USER_HZ
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function runMain() {
  const SECONDS = Number(arg("seconds", "5"));
  const SIZES = arg("sizes", "10,25,50,100").split(",").map(Number);
  const CLIENTS = Number(arg("clients", "2"));
  const E2EE = !process.argv.includes("--plain");
  const LISTEN_ONLY = process.argv.includes("--listen-only");
  const hardStop = setTimeout(() => {
    process.stderr.write("benchmark exceeded its time limit\n");
    process.exit(2);
  }, 300_000);
  const dataDir = mkdtempSync(join(tmpdir(), "outpost-bench-calling-"));
  const self = fileURLToPath(import.meta.url);
  const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
  const profDir = arg("cpu-prof", "");
  const prof = profDir ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${profDir}`] : [];
  const node = Bun.spawn(
    [process.execPath, ...prof, main, "calling-node", "--supervised", "--data-dir", dataDir, "--log-level", "warn", "--calling-control-port", "0", "--calling-tcp-port", "0", "--calling-udp-port-min", "43000", "--calling-udp-port-max", "44999"],
    { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
  );
  let url = "";
  for await (const l of lines(node.stdout)) {
    if (l.startsWith(READY_MARKER)) {
      url = (JSON.parse(l.slice(READY_MARKER.length)) as { url: string }).url;
      break;
    }
  }
  const secret = readFileSync(secretPath(dataDir), "utf8").trim();
  /** Packets the node forwarded in this call, and packets it took in from the speaker (p0). */
  const stats = async (callId: string) => {
    const r = await fetch(url + "/control/stats", { headers: { authorization: `Bearer ${secret}` } });
    const s = (await r.json()) as { calls: { callId: string; forwardedPackets: number; participants: { participantId: string; packetsIn: number }[] }[] };
    const call = s.calls.find((c) => c.callId === callId);
    return { forwarded: call?.forwardedPackets ?? 0, fromSpeaker: call?.participants.find((p) => p.participantId === "p0")?.packetsIn ?? 0 };
  };
  const rows = [];
  try {
    process.stdout.write(`calling node bench: ${SECONDS}s per size, ${PPS} packets/s per participant, ${PAYLOAD}-byte payloads, end-to-end encryption ${E2EE ? "on" : "off"}, ${LISTEN_ONLY ? "only the speaker sends" : "everyone sends"}, ${CLIENTS} client processes\n`);
    for (const n of SIZES) {
      const callId = `bench-${n}`;
      const key = { keyId: 0, raw: [...crypto.getRandomValues(new Uint8Array(32))] };
      const workers = Array.from({ length: CLIENTS }, (_, w) => {
        const from = Math.floor((n * w) / CLIENTS);
        const to = Math.floor((n * (w + 1)) / CLIENTS);
        const proc = Bun.spawn([process.execPath, self, "--worker"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
        const out = lines(proc.stdout);
        const send = (s: string) => (proc.stdin.write(s + "\n"), proc.stdin.flush());
        send(JSON.stringify({ controlUrl: url, secret, signallingUrl: url.replace("http", "ws") + "/signal", callId, from, to, e2ee: E2EE, listenOnly: LISTEN_ONLY, key } satisfies WorkerJob));
        const read = async () => {
          const line = (await out.next()).value;
          if (typeof line !== "string") throw new Error(`client process ${w} ended early (exit ${await proc.exited})`);
          return JSON.parse(line);
        };
        return { proc, send, read };
      });
      for (const w of workers) await w.read(); // joined
      for (const w of workers) w.send("start");
      for (const w of workers) await w.read(); // started
      await Bun.sleep(1500); // warm-up: the node finds the active speaker from the audio levels
      const fwd0 = await stats(callId);
      const cpu0 = cpuTimes(node.pid);
      const t0 = performance.now();
      for (const w of workers) w.send("measure");
      await Bun.sleep(SECONDS * 1000);
      for (const w of workers) w.send("stop");
      const elapsed = (performance.now() - t0) / 1000;
      const cpu1 = cpuTimes(node.pid);
      const cpuUser = cpu1.user - cpu0.user;
      const cpuSys = cpu1.sys - cpu0.sys;
      const cpu = cpuUser + cpuSys;
      const end = await stats(callId);
      const fwd = end.forwarded - fwd0.forwarded;
      // What the node itself failed to pass on (the rest of any loss happened in the overloaded clients).
      const nodeExpected = (end.fromSpeaker - fwd0.fromSpeaker) * (n - 1);
      const reports = (await Promise.all(workers.map((w) => w.read()))) as { sentBySpeaker: number; received: number; receivers: number; latencies: number[] }[];
      await Promise.all(workers.map((w) => w.proc.exited));
      const sent = reports.reduce((a, r) => a + r.sentBySpeaker, 0);
      const received = reports.reduce((a, r) => a + r.received, 0);
      const expected = sent * (n - 1);
      const lat = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
      const row = {
        participants: n,
        forwardedPerSecond: Math.round(fwd / elapsed),
        nodeCpuPercent: round((cpu / elapsed) * 100, 1),
        cpuPerForwardedUs: fwd ? Math.round((cpu / fwd) * 1e6) : NaN,
        kernelPerForwardedUs: fwd ? Math.round((cpuSys / fwd) * 1e6) : NaN,
        lossPercent: expected ? Math.max(0, round((1 - received / expected) * 100)) : NaN,
        nodeLossPercent: nodeExpected ? Math.max(0, round((1 - fwd / nodeExpected) * 100)) : NaN,
        latencyP50Ms: round(pct(lat, 50)),
        latencyP99Ms: round(pct(lat, 99)),
      };
      rows.push(row);
      process.stdout.write(
        `${String(n).padStart(4)} participants: ${String(row.forwardedPerSecond).padStart(6)} forwarded/s, node CPU ${String(row.nodeCpuPercent).padStart(5)} % (${row.cpuPerForwardedUs} µs/forwarded packet, ingest included, ${row.kernelPerForwardedUs} µs of it in the kernel; C peer ≈ ${PEER_US} µs), loss ${row.lossPercent} % (at the node ${row.nodeLossPercent} %), latency p50 ${row.latencyP50Ms} ms p99 ${row.latencyP99Ms} ms\n`,
      );
      await Bun.sleep(500);
    }
    process.stdout.write(JSON.stringify({ bench: "calling", e2ee: E2EE, listenOnly: LISTEN_ONLY, seconds: SECONDS, clients: CLIENTS, rows }) + "\n");
  } finally {
    node.kill("SIGTERM");
    await Promise.race([node.exited, Bun.sleep(3000)]);
    if (node.exitCode === null) node.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    clearTimeout(hardStop);
  }
  process.exit(0);
}

if (process.argv.includes("--worker")) await runWorker();
else await runMain();

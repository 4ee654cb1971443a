// Relay benchmark at synchronous=FULL (the server's only mode), server in its own process:
//  1. sustained direct-message throughput with 200 connected devices (100 sender→receiver pairs),
//     counted as packets durably acknowledged and delivered per second;
//  2. send→deliver latency (p50/p99) at half that load;
//  3. time for one message to reach all 500 online members of a room (p50/p99 of several).
// Packets are real sealed packets made beforehand with the SDK (sealing is client work and
// would otherwise be what this measures); devices then use raw relay sockets that count
// deliveries and acknowledge cursors without decrypting.
//
//   bun scripts/bench/relay.ts [--packets 30000] [--latency-seconds 3] [--fanout-rounds 20] [--latency-rate N]
//                              [--profile-dir DIR]   (server CPU profile of the measured phases, markdown;
//                              the server is restarted with profiling once setup and the first sealing are done)
import { readFileSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import type { OutpostClient } from "../../src/client/index.ts";
import { freePort, spawnServer, tempDir } from "../../test/support/server.ts";
import { rawDevice, registerAll, seedNetwork, type RawDevice } from "../lib/messaging-seed.ts";

const { values } = parseArgs({ options: { packets: { type: "string", default: "30000" }, "latency-seconds": { type: "string", default: "3" }, "fanout-rounds": { type: "string", default: "20" }, "latency-rate": { type: "string" }, "profile-dir": { type: "string" } } });
const TOTAL = Number(values.packets);
const LATENCY_S = Number(values["latency-seconds"]);
const ROUNDS = Number(values["fanout-rounds"]);
const DEVICES = 200;
const ROOM = 500;
const WINDOW = 256;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const log = (s: string) => console.log(s);
/** CPU seconds used so far by a process (Linux /proc), to report how busy each side was. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}
const busy = (pid: number, cpu0: number, wall0: number) => `${Math.round(((cpuSeconds(pid) - cpu0) / ((performance.now() - wall0) / 1000)) * 100)}%`;

const dataDir = tempDir("outpost-bench-");
const names = Array.from({ length: ROOM }, (_, i) => `bench${String(i).padStart(3, "0")}`);
const networkId = await seedNetwork(dataDir, names);
const port = await freePort();
let server = await spawnServer({ dataDir, port, env: { OUTPOST_LOG_LEVEL: "warn" } });
const t0 = performance.now();
const clients = await registerAll(server.url, networkId, names, 2);
log(`setup: ${ROOM} users and devices registered in ${((performance.now() - t0) / 1000).toFixed(1)} s (server ${server.url}, synchronous=FULL)`);

// Pairs: device 2i sends to device 2i+1.
const pairs: { sender: OutpostClient; receiver: OutpostClient; dm: string }[] = [];
for (let i = 0; i < DEVICES; i += 2) {
  const sender = clients[i]!;
  sender.prekeyBatch = 1;
  pairs.push({ sender, receiver: clients[i + 1]!, dm: (await sender.openDirect({ userId: clients[i + 1]!.userId })).id });
}

async function sealFor(count: number): Promise<{ pair: number; id: string; bytes: Uint8Array }[][]> {
  const perPair = Math.ceil(count / pairs.length);
  const out: { pair: number; id: string; bytes: Uint8Array }[][] = pairs.map(() => []);
  const body = "x".repeat(200);
  for (let k = 0; k < perPair; k++) {
    await Promise.all(
      pairs.map(async (p, i) => {
        const { packet, packetId } = await p.sender.seal(p.dm, 1000, { text: body });
        out[i]!.push({ pair: i, id: packetId, bytes: packet });
      }),
    );
  }
  return out;
}

const ts = performance.now();
const batch1 = await sealFor(TOTAL);
log(`sealed ${TOTAL} packets in ${((performance.now() - ts) / 1000).toFixed(1)} s (client side, not measured below)`);
if (values["profile-dir"]) {
  // Registration and prekey claims (drizzle-heavy, not the relay's hot path) stay out of the profile.
  await server.signal("SIGTERM");
  server = await spawnServer({ dataDir, port, env: { OUTPOST_LOG_LEVEL: "warn", BUN_OPTIONS: `--cpu-prof-md --cpu-prof-dir=${values["profile-dir"]}` } });
}

const sockets = new Map<string, RawDevice>();
for (const c of clients.slice(0, DEVICES)) sockets.set(c.deviceId, await rawDevice(server.url, c));

// ---- 1. throughput
let throughput = 0;
{
  let acked = 0;
  let delivered = 0;
  const done = new Promise<void>((resolve) => {
    for (const p of pairs) sockets.get(p.receiver.deviceId)!.onDelivery = () => ++delivered === TOTAL && resolve();
  });
  const start = performance.now();
  let lastAck = start;
  await Promise.all(
    pairs.map(
      (p, i) =>
        new Promise<void>((resolve) => {
          const queue = batch1[i]!;
          const sock = sockets.get(p.sender.deviceId)!;
          let next = 0;
          let inFlight = 0;
          const pump = () => {
            while (inFlight < WINDOW && next < queue.length) {
              sock.send(queue[next++]!.bytes);
              inFlight++;
            }
            if (next === queue.length && inFlight === 0) resolve();
          };
          sock.onControl = (m) => {
            if (m.t === "ack") {
              acked++;
              inFlight--;
              lastAck = performance.now();
              pump();
            } else if (m.t === "refused") throw new Error(`refused: ${String(m.code)} ${String(m.message)}`);
          };
          pump();
        }),
    ),
  );
  await done;
  const end = performance.now();
  const s = (end - start) / 1000;
  log(`throughput: ${acked} durable packets acknowledged in ${((lastAck - start) / 1000).toFixed(2)} s = ${Math.round(acked / ((lastAck - start) / 1000))} acks/s; all ${delivered} delivered in ${s.toFixed(2)} s = ${Math.round(delivered / s)} packets/s (${DEVICES} connected devices)`);
  throughput = Math.round(delivered / s);
}

// ---- 2. latency at half load
{
  const rate = values["latency-rate"] ? Number(values["latency-rate"]) : Math.max(100, Math.floor(throughput / 2));
  const count = rate * LATENCY_S;
  const batch = await sealFor(count);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const ackLatencies: number[] = [];
  const lag: number[] = [];
  for (const p of pairs) {
    sockets.get(p.receiver.deviceId)!.onDelivery = (id) => {
      const t = sentAt.get(id);
      if (t !== undefined) latencies.push(performance.now() - t);
    };
    sockets.get(p.sender.deviceId)!.onControl = (m) => {
      const t = m.t === "ack" ? sentAt.get(m.id as string) : undefined;
      if (t !== undefined) ackLatencies.push(performance.now() - t);
    };
  }
  const order: { pair: number; id: string; bytes: Uint8Array }[] = [];
  for (let k = 0; k < batch[0]!.length; k++) for (const q of batch) if (q[k]) order.push(q[k]!);
  const tick = 5;
  const perTick = rate / (1000 / tick);
  const start = performance.now();
  const serverCpu0 = cpuSeconds(server.proc.pid);
  const benchCpu0 = cpuSeconds(process.pid);
  let sent = 0;
  while (sent < order.length) {
    const due = Math.min(order.length, Math.floor(((performance.now() - start) / tick + 1) * perTick));
    while (sent < due) {
      const item = order[sent++]!;
      const now = performance.now();
      // How late this process sends against the plan: its own load shows up as burstiness.
      lag.push(now - (start + (sent / rate) * 1000));
      sentAt.set(item.id, now);
      sockets.get(pairs[item.pair]!.sender.deviceId)!.send(item.bytes);
    }
    await Bun.sleep(tick);
  }
  const deadline = performance.now() + 10_000;
  while (latencies.length < order.length && performance.now() < deadline) await Bun.sleep(10);
  const cpu = `server CPU ${busy(server.proc.pid, serverCpu0, start)}, benchmark CPU ${busy(process.pid, benchCpu0, start)} of one core`;
  log(`latency at half load (${rate} packets/s for ${LATENCY_S} s, ${latencies.length}/${order.length} delivered): p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(2)} ms; send→durable ack p50 ${pct(ackLatencies, 50).toFixed(2)} ms, p99 ${pct(ackLatencies, 99).toFixed(2)} ms; the sending process ran behind its schedule by p50 ${pct(lag, 50).toFixed(1)} ms, p99 ${pct(lag, 99).toFixed(1)} ms; ${cpu}`);
}

// ---- 3. 500-member room fan-out
{
  for (const c of clients.slice(DEVICES)) sockets.set(c.deviceId, await rawDevice(server.url, c));
  const owner = clients[0]!;
  await owner.connect();
  const room = await owner.createRoom({ title: "Bench room", memberIds: clients.map((c) => c.userId) });
  await owner.close();
  // The SDK connection replaced the owner's raw socket (one connection per device): reopen it.
  sockets.get(owner.deviceId)!.close();
  sockets.set(owner.deviceId, await rawDevice(server.url, owner, Number.MAX_SAFE_INTEGER));
  const sealed: { id: string; bytes: Uint8Array }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const { packet, packetId } = await owner.seal(room.id, 1000, { text: `round ${r}` });
    sealed.push({ id: packetId, bytes: packet });
  }
  const times: number[] = [];
  const ownerSock = sockets.get(owner.deviceId)!;
  ownerSock.onControl = () => undefined;
  for (const { id, bytes } of sealed) {
    let got = 0;
    const start = performance.now();
    const done = new Promise<void>((resolve) => {
      for (const c of clients.slice(1)) sockets.get(c.deviceId)!.onDelivery = (pid) => pid === id && ++got === ROOM - 1 && resolve();
    });
    ownerSock.send(bytes);
    await done;
    times.push(performance.now() - start);
    await Bun.sleep(20);
  }
  log(`room fan-out to ${ROOM - 1} online members (+ sender): p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms over ${ROUNDS} messages`);
}

for (const s of sockets.values()) s.close();
await server.signal("SIGTERM");
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);

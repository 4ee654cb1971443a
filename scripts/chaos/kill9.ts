// Chaos: clients send continuously while the server is killed with SIGKILL several times
// and restarted on the same data directory. Afterwards every packet the server
// acknowledged must have reached its recipient exactly once (after the SDK's
// de-duplication). Prints the counts; exits non-zero if anything was lost or doubled.
//
//   bun scripts/chaos/kill9.ts [--pairs 4] [--kills 4] [--interval-ms 1500]
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import type { OutpostClient } from "../../src/client/index.ts";
import { freePort, spawnServer, tempDir, type SpawnedServer } from "../../test/support/server.ts";
import { registerAll, seedNetwork } from "../lib/messaging-seed.ts";

const { values } = parseArgs({ options: { pairs: { type: "string", default: "4" }, kills: { type: "string", default: "4" }, "interval-ms": { type: "string", default: "1500" } } });
const PAIRS = Number(values.pairs);
const KILLS = Number(values.kills);
const INTERVAL = Number(values["interval-ms"]);

const dataDir = tempDir("outpost-kill9-");
const port = await freePort();
const names = Array.from({ length: PAIRS * 2 }, (_, i) => `chaos${i}`);
const networkId = await seedNetwork(dataDir, names);
let server: SpawnedServer = await spawnServer({ dataDir, port });
const url = server.url;
const clients = await registerAll(url, networkId, names, 100);

interface Pair {
  sender: OutpostClient;
  receiver: OutpostClient;
  dm: string;
  acked: Set<string>;
  received: Map<string, number>;
  duplicates: number;
  errors: number;
}
const pairs: Pair[] = [];
for (let i = 0; i < PAIRS; i++) {
  const sender = clients[2 * i]!;
  const receiver = clients[2 * i + 1]!;
  sender.prekeyBatch = 20;
  const dm = (await sender.openDirect({ userId: receiver.userId })).id;
  const pair: Pair = { sender, receiver, dm, acked: new Set(), received: new Map(), duplicates: 0, errors: 0 };
  receiver.on("message", (e) => pair.received.set(e.message.packetId, (pair.received.get(e.message.packetId) ?? 0) + 1));
  receiver.on("duplicate", () => pair.duplicates++);
  receiver.on("error", () => pair.errors++);
  await sender.connect();
  await receiver.connect();
  pairs.push(pair);
}

let sending = true;
let attemptsFailed = 0;
const loops = pairs.map(async (p) => {
  let n = 0;
  while (sending) {
    try {
      const r = await p.sender.sendText(p.dm, `chaos ${n++}`);
      p.acked.add(r.packetId);
    } catch {
      // The server is down (REST for keys failed): the packet was never sealed or sent; try again.
      attemptsFailed++;
      await Bun.sleep(50);
    }
  }
});

for (let k = 0; k < KILLS; k++) {
  await Bun.sleep(INTERVAL);
  const before = pairs.reduce((a, p) => a + p.acked.size, 0);
  await server.signal("SIGKILL");
  await Bun.sleep(100);
  server = await spawnServer({ dataDir, port });
  console.log(`kill ${k + 1}/${KILLS}: SIGKILL after ${before} acknowledged packets; restarted`);
}
await Bun.sleep(INTERVAL);
sending = false;
await Promise.all(loops);

const deadline = Date.now() + 30_000;
const missing = () => pairs.reduce((a, p) => a + [...p.acked].filter((id) => !p.received.has(id)).length, 0);
while (missing() > 0 && Date.now() < deadline) await Bun.sleep(50);

const acked = pairs.reduce((a, p) => a + p.acked.size, 0);
const delivered = pairs.reduce((a, p) => a + [...p.acked].filter((id) => p.received.get(id) === 1).length, 0);
const doubled = pairs.reduce((a, p) => a + [...p.received.values()].filter((n) => n > 1).length, 0);
const redeliveries = pairs.reduce((a, p) => a + p.duplicates, 0);
const errors = pairs.reduce((a, p) => a + p.errors, 0);
const lost = missing();
console.log(
  JSON.stringify({ pairs: PAIRS, kills: KILLS, acknowledged: acked, deliveredExactlyOnce: delivered, lost, deliveredTwice: doubled, redeliveriesDeduplicated: redeliveries, receiveErrors: errors, sendAttemptsFailedWhileDown: attemptsFailed }),
);
await Promise.all(clients.map((c) => c.close()));
await server.signal("SIGTERM");
rmSync(dataDir, { recursive: true, force: true });
const ok = lost === 0 && doubled === 0 && delivered === acked && errors === 0;
console.log(ok ? "OK: every acknowledged packet delivered exactly once" : "FAILED");
process.exit(ok ? 0 : 1);

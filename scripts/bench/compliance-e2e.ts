// End-to-end retention benchmark: lines/s through the relay and the compliance bot with
// fsync. A real server, a local writer provisioned through the service, a few SDK senders;
// measures (a) catch-up of a backlog sent while the writer was stopped and (b) live
// retention while senders send. Run: bun scripts/bench/compliance-e2e.ts [messages=10000]
// Measured (2 shared cores, server + 4 senders + bot in one process, ext4): 10,000 messages,
// catch-up 1,446 lines/s, live 629 lines/s while the same process sends, 3.5 lines per fsync
// (the bot's decryption, not fsync, is the limit). The bot as its own process caught up
// 10,000 in 6.2 s (~1,600 lines/s) in test/compliance/durability.e2e.test.ts.
import { createNetwork } from "../../src/modules/networks/networks.service.ts";
import { createUsers } from "../../src/modules/users/users.service.ts";
import { OutpostClient } from "../../src/client/index.ts";
import { complianceSupervisor } from "../../src/compliance/supervisor.ts";
import { systemActor } from "../../src/modules/audit/audit.service.ts";
import { complianceWriterView, provisionComplianceWriter, setCompliancePaused } from "../../src/modules/compliance/compliance.service.ts";
import { startTestServer } from "../../test/support/server.ts";

const total = Number(process.argv[2] ?? 10_000);
const SENDERS = 4;
const PASSWORD = "Correct-Horse-9";

const server = await startTestServer();
const ctx = server.ctx;
try {
  const net = await createNetwork(ctx, { name: "bench" });
  const names = [...Array.from({ length: SENDERS }, (_, i) => `s${i}`), "sink"];
  await createUsers(ctx, names.map((username) => ({ networkId: net.id, username, password: PASSWORD })), { argon2: { memoryCost: 1024, timeCost: 1 } });
  await provisionComplianceWriter(ctx, systemActor, net.id, {});
  const senders: OutpostClient[] = [];
  for (let i = 0; i < SENDERS; i++) {
    const c = await OutpostClient.register({ config: { serviceUrl: server.url, networkId: net.id }, username: `s${i}`, password: PASSWORD, prekeyCount: 30 });
    c.prekeyBatch = 64;
    await c.connect();
    senders.push(c);
  }
  const dms = await Promise.all(senders.map(async (s) => (await s.openDirect({ username: "sink" })).id));
  const blast = (n: number, label: string) =>
    Promise.all(
      senders.map(async (s, k) => {
        const per = Math.ceil(n / SENDERS);
        for (let i = 0; i < per; i += 50) {
          const batch = [];
          for (let j = i; j < Math.min(i + 50, per); j++) batch.push(s.sendText(dms[k]!, `${label} ${k}-${j}`));
          await Promise.all(batch);
        }
      }),
    );
  const lines = () => complianceSupervisor(ctx).status(net.id)?.linesWritten ?? 0;
  const waitLines = async (n: number, what: string) => {
    const deadline = Date.now() + 300_000;
    while (lines() < n) {
      if (Date.now() > deadline) throw new Error(`${what}: only ${lines()} of ${n} lines (${JSON.stringify(complianceWriterView(ctx, net.id))})`);
      await Bun.sleep(50);
    }
  };

  // (a) backlog: writer paused while the messages are sent, then started.
  await setCompliancePaused(ctx, systemActor, net.id, true);
  await Bun.sleep(100);
  let t = performance.now();
  await blast(total, "backlog");
  const sendMs = performance.now() - t;
  t = performance.now();
  await setCompliancePaused(ctx, systemActor, net.id, false);
  while (!complianceSupervisor(ctx).status(net.id)) await Bun.sleep(10);
  await waitLines(total, "catch-up");
  const catchUpMs = performance.now() - t;

  // (b) live: the writer running while the same number is sent.
  const before = lines();
  t = performance.now();
  await blast(total, "live");
  await waitLines(before + total, "live");
  const liveMs = performance.now() - t;
  const s = complianceSupervisor(ctx).status(net.id)!;
  const row = {
    messages: total,
    sendOnlyPerSec: Math.round(total / (sendMs / 1000)),
    catchUpLinesPerSec: Math.round(total / (catchUpMs / 1000)),
    liveLinesPerSec: Math.round(total / (liveMs / 1000)),
    linesPerFsync: (s.linesWritten / s.flushes).toFixed(1),
    rssMiB: (process.memoryUsage().rss / 1024 / 1024).toFixed(0),
  };
  console.table([row]);
  console.log(JSON.stringify(row));
  await Promise.all(senders.map((c) => c.close()));
} finally {
  await server.close();
}

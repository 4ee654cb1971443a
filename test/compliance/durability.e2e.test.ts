// The writer as its own process (`outpost compliance run`) against a real server: offline
// while 10,000 messages are sent, then started; killed with SIGKILL mid-stream and
// restarted. Every message must be retained exactly once, in the relay's order.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { OutpostClient } from "../../src/client/index.ts";
import { systemActor } from "../../src/modules/audit/audit.service.ts";
import { complianceWriterView, provisionComplianceWriter } from "../../src/modules/compliance/compliance.service.ts";
import { startWorld, until, type World } from "../messaging/world.ts";
import { tempDir } from "../support/server.ts";
import { countLines, readLines } from "./support.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

let w: World;
let senders: OutpostClient[];
let dms: string[];
let dir: string;
let botPassword: string;
const statePath = () => join(dir, "bot.state.json");
const messagesDir = () => join(dir, "messages");

interface BotProc {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
}

async function startBot(): Promise<BotProc> {
  const proc = Bun.spawn(
    [process.execPath, join(repoRoot, "src", "main.ts"), "compliance", "run", "--state", statePath(), "--messages-dir", messagesDir(), "--attachments-dir", join(dir, "attachments"), "--config", join(dir, "client.json"), "--username", "retentionbot"],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", OUTPOST_COMPLIANCE_PASSWORD: botPassword, OUTPOST_LOG_LEVEL: "warn" } },
  );
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const c of s) out += dec.decode(c);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  await until(() => out.includes("OUTPOST-COMPLIANCE-READY") || proc.exitCode !== null, "bot ready", 15_000);
  if (proc.exitCode !== null) throw new Error(`bot exited ${proc.exitCode}: ${out}`);
  return { proc, output: () => out };
}

/** Packet ids the compliance device was sent, in relay order (what the file must hold). */
function relayOrder(): string[] {
  const deviceId = complianceWriterView(w.server.ctx, w.networkId).deviceId;
  return (w.server.ctx.storage.readConns[0]!.query("select p.packet_id as id from packet_wraps x join packets p on p.seq = x.seq where x.device_id = ? order by x.seq").all(deviceId) as { id: string }[]).map((r) => r.id);
}

/** Sends `total` small messages from every sender at once, a window of them in flight each. */
async function blast(total: number, label: string) {
  const per = Math.ceil(total / senders.length);
  await Promise.all(
    senders.map(async (s, k) => {
      for (let i = 0; i < per; i += 50) {
        const batch = [];
        for (let j = i; j < Math.min(i + 50, per); j++) batch.push(s.sendText(dms[k]!, `${label} ${k}-${j}`));
        await Promise.all(batch);
      }
    }),
  );
}

/** Like until(), polling every 100 ms: counting lines of a large file is not free. */
async function waitFor(cond: () => boolean, what: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what} (${countLines(messagesDir())} lines, relay backlog ${complianceWriterView(w.server.ctx, w.networkId).backlog})`);
    await Bun.sleep(100);
  }
}

function expectExactlyOnceInOrder() {
  const ids = readLines(messagesDir()).map((l) => l.message_id as string);
  const expected = relayOrder();
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBe(expected.length);
  expect(ids).toEqual(expected);
}

beforeAll(async () => {
  dir = tempDir("outpost-retention-");
  w = await startWorld();
  await w.addUsers(["s1", "s2", "s3", "s4", "sink"], { cheapHash: true });
  const r = await provisionComplianceWriter(w.server.ctx, systemActor, w.networkId, { mode: "remote", username: "retentionbot" });
  botPassword = r.password;
  writeFileSync(join(dir, "client.json"), JSON.stringify({ serviceUrl: w.server.url, networkId: w.networkId }));
  // First run registers the device and claims the compliance mark; then it stops.
  const first = await startBot();
  first.proc.kill("SIGTERM");
  expect(await first.proc.exited).toBe(0);
  expect(complianceWriterView(w.server.ctx, w.networkId).deviceId).not.toBeNull();
  senders = [];
  for (const name of ["s1", "s2", "s3", "s4"]) {
    const c = await w.client(name);
    c.prekeyBatch = 64;
    senders.push(c);
  }
  dms = await Promise.all(senders.map(async (s) => (await s.openDirect({ username: "sink" })).id));
}, 60_000);
afterAll(async () => {
  await w.close();
});

describe("compliance writer process", () => {
  test("offline while 10,000 messages are sent, then started: every message once, in order", async () => {
    const t0 = Date.now();
    await blast(10_000, "offline");
    const sent = Date.now() - t0;
    expect(complianceWriterView(w.server.ctx, w.networkId).backlog).toBe(10_000);
    const t1 = Date.now();
    const bot = await startBot();
    try {
      await waitFor(() => countLines(messagesDir()) >= 10_000, "10,000 lines", 90_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${bot.output().slice(-3000)}`);
      });
      console.log(`10,000 messages: sent in ${sent} ms, retained by the restarted writer in ${Date.now() - t1} ms`);
      await until(() => complianceWriterView(w.server.ctx, w.networkId).backlog === 0, "relay backlog acknowledged", 5000);
      expectExactlyOnceInOrder();
    } finally {
      bot.proc.kill("SIGTERM");
      await bot.proc.exited;
    }
  }, 120_000);

  test("killed with SIGKILL mid-stream and restarted: exactly once, in order", async () => {
    const before = countLines(messagesDir());
    let bot = await startBot();
    const sending = blast(2000, "kill");
    await waitFor(() => countLines(messagesDir()) >= before + 300, "some lines written", 30_000);
    bot.proc.kill("SIGKILL");
    await bot.proc.exited;
    // Really mid-stream: killed with most of the messages still to come.
    expect(countLines(messagesDir())).toBeLessThan(before + 2000);
    await sending;
    bot = await startBot();
    try {
      await waitFor(() => countLines(messagesDir()) >= before + 2000, "all lines after the restart", 60_000);
      await until(() => complianceWriterView(w.server.ctx, w.networkId).backlog === 0, "relay backlog acknowledged", 5000);
      expectExactlyOnceInOrder();
    } finally {
      bot.proc.kill("SIGTERM");
      await bot.proc.exited;
    }
  }, 120_000);
});

// `outpost serve` with its calling node as a child process: readiness, join tokens over
// the authenticated control channel, a call through the node, the node killed mid-call,
// restarted by the supervisor on the same ports, and the participants rejoining.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { afterAll, beforeAll, expect, test } from "vitest";
import { sharedKey, syntheticPayload, until } from "../src/calling/e2e/support.ts";
import { joinGrantFor } from "../src/calling/grants.ts";
import { CallParticipant } from "../src/calling/participant.ts";
import { secretPath } from "../src/calling/secret.ts";
import { callingService, type CallingService } from "../src/calling/supervisor.ts";
import { defaultSecurityGroupSettings } from "../src/modules/security-groups/settings.ts";
import { startCallingNode } from "../src/calling/node.ts";
import { ensureCallingSecret } from "../src/calling/secret.ts";
import { createLogger } from "../src/log/logger.ts";
import { AdminClient } from "./support/admin-client.ts";
import { spawnServer, startTestServer, tempDir, type TestServer } from "./support/server.ts";

let server: TestServer;
let calling: CallingService;
beforeAll(async () => {
  server = await startTestServer({ callingMode: "spawn", callingTcpPort: 0, callingUdpPortMin: 42000, callingUdpPortMax: 42999, logLevel: "warn" });
  calling = callingService(server.ctx)!;
  await calling.supervisor!.ready();
});
afterAll(async () => {
  await server.close();
});

type Ready = { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
const readyz = async () => (await (await fetch(server.url + "/readyz")).json()) as Ready;

async function joinPair(callId: string) {
  const group = defaultSecurityGroupSettings().calling;
  const url = calling.client.signallingUrl()!;
  const join = async (id: string) => {
    const { token } = await calling.client.issueJoinToken(joinGrantFor(group, { callId, participantId: id }));
    return CallParticipant.join({ signallingUrl: url, token, send: ["audio"], receive: { audio: 2 } });
  };
  const a = await join("a");
  const b = await join("b");
  await sharedKey(a.keyring, b.keyring);
  await until(() => b.slots.some((s) => s.participantId === "a"), 5000, "slot");
  let got = 0;
  b.onMedia((m) => m.from === "a" && got++);
  for (let i = 0; i < 10; i++) await a.sendRtp("audio", syntheticPayload("a", "audio", i));
  await until(() => got === 10, 5000, "media through the spawned node");
  return [a, b] as const;
}

test("serve spawns the node: readiness, a secret only the owner can read, a call through it, stats", async () => {
  const r = await readyz();
  expect(r.checks.calling?.ok).toBe(true);
  expect(statSync(secretPath(server.dataDir)).mode & 0o777).toBe(0o600);
  const [a, b] = await joinPair("spawned");
  const stats = await calling.client.stats();
  expect(stats.calls.find((c) => c.callId === "spawned")?.participants.map((p) => p.participantId).sort()).toEqual(["a", "b"]);
  expect((await readyz()).checks.calling?.detail).toMatch(/1 call\(s\), 2 participant\(s\)/);
  await a.leave();
  await b.leave();
});

test("the node killed mid-call is restarted on the same ports and clients rejoin", async () => {
  const [a, b] = await joinPair("crash");
  const sup = calling.supervisor!;
  const urlBefore = calling.client.signallingUrl();
  const dropped = new Promise<void>((resolve) => b.onClosed(resolve));
  process.kill(sup.pid!, "SIGKILL");
  await dropped;
  await until(() => sup.state !== "running", 3000, "supervisor noticing");
  expect((await readyz()).checks.calling?.ok).toBe(false);
  await sup.ready();
  expect(sup.restarts).toBe(1);
  expect(calling.client.signallingUrl()).toBe(urlBefore);
  expect((await readyz()).checks.calling?.ok).toBe(true);
  await a.close();
  await b.close();
  const [a2, b2] = await joinPair("crash");
  await a2.leave();
  await b2.leave();
});

test("admin API: active calls and participants, paging, ending a call; bad requests refused", async () => {
  const anon = await fetch(server.url + "/api/v1/calling/status");
  expect(anon.status).toBe(401);
  const admin = new AdminClient(server.url);
  await admin.signInFirstTime("admin", server.firstAdminPassword!);
  const [a, b] = await joinPair("dash");
  const res = await admin.request("GET", "/api/v1/calling/status?limit=1");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { node: { reachable: boolean; state: string }; totals: { calls: number; participants: number }; calls: { callId: string; participants: { participantId: string; connection: string }[] }[]; nextOffset: number | null };
  expect(body.node).toMatchObject({ reachable: true, state: "running" });
  expect(body.totals).toEqual({ calls: 1, participants: 2 });
  expect(body.calls[0]!.participants.map((p) => p.connection)).toEqual(["connected", "connected"]);
  expect(body.nextOffset).toBeNull();
  // The console shows the same call, with its participants.
  const page = await (await admin.request("GET", "/admin/calls")).text();
  expect(page).toContain("The calling node is up");
  expect(page).toMatch(/<code>dash<\/code>/);
  expect(page).toContain("End call dash");
  const bad = await admin.request("GET", "/api/v1/calling/status?limit=0");
  expect(bad.status).toBe(400);
  const badBody = (await bad.json()) as { error: { code: string; details: { path: string }[] } };
  expect(badBody.error.details[0]!.path).toMatch(/limit/);
  expect((await admin.request("POST", "/api/v1/calling/calls/nope/end")).status).toBe(404);
  const noCsrf = await fetch(server.url + "/api/v1/calling/calls/dash/end", { method: "POST", headers: { cookie: admin.cookie } });
  expect(noCsrf.status).toBe(403);
  const ended = new Promise<void>((resolve) => a.onMessage((m) => m.t === "ended" && resolve()));
  expect((await admin.request("POST", "/api/v1/calling/calls/dash/end")).status).toBe(204);
  await ended;
  const after = (await (await admin.request("GET", "/api/v1/calling/status")).json()) as { totals: { calls: number } };
  expect(after.totals.calls).toBe(0);
  const audited = (await (await admin.request("GET", "/api/v1/audit?action=call.end")).json()) as { items: { action: string; target: string }[] };
  expect(audited.items.map((i) => i.target)).toContain("dash");
  await a.close();
  await b.close();
});

test("two-machine split: a server points at an external node sharing its secret; a wrong secret is not ready", async () => {
  const dataDir = tempDir();
  const secret = ensureCallingSecret(dataDir);
  const log = createLogger({ level: "silent", eventLogging: "activity", stdout: false }).logger;
  const node = await startCallingNode({ secret, address: "127.0.0.1", controlPort: 0, tcpPort: 0, udpPortMin: 43000, udpPortMax: 43999, log });
  const good = await startTestServer({ dataDir, callingMode: "external", callingNodeUrl: node.url });
  const wrong = await startTestServer({ callingMode: "external", callingNodeUrl: node.url });
  try {
    const ready = (await (await fetch(good.url + "/readyz")).json()) as Ready;
    expect(ready.checks.calling).toMatchObject({ ok: true });
    const notReady = await fetch(wrong.url + "/readyz");
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as Ready).checks.calling).toMatchObject({ ok: false });
    const { token } = await callingService(good.ctx)!.client.issueJoinToken({ callId: "split", participantId: "x", kinds: { audio: true, video: false, screen: false } });
    expect(token.length).toBeGreaterThan(20);
    await expect(callingService(wrong.ctx)!.client.issueJoinToken({ callId: "split", participantId: "y", kinds: { audio: true, video: false, screen: false } })).rejects.toThrow(/401/);
  } finally {
    await wrong.close();
    await good.close();
    await node.stop();
  }
});

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

test("serve killed with SIGKILL: its calling node does not outlive it", async () => {
  const spawned = await spawnServer({ args: ["--calling-mode", "spawn", "--calling-tcp-port", "0", "--calling-udp-port-min", "44100", "--calling-udp-port-max", "44199"] });
  const ready = (await (await fetch(spawned.url + "/readyz")).json()) as Ready;
  expect(ready.checks.calling?.ok).toBe(true);
  const [child] = childrenOf(spawned.proc.pid);
  expect(child).toBeGreaterThan(0);
  expect(readFileSync(`/proc/${child}/cmdline`, "utf8")).toContain("calling-node");
  await spawned.signal("SIGKILL");
  await until(() => !existsSync(`/proc/${child}`) || /\) Z /.test(readFileSync(`/proc/${child}/stat`, "utf8")), 5000, "the node exiting");
  rmSync(spawned.dataDir, { recursive: true, force: true });
});

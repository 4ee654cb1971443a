// The output volume turns read-only under a running server's compliance writer (a tmpfs
// remounted ro): nothing is acknowledged, /readyz and the REST status show the failure,
// and once it is writable again every message is retained exactly once, in order.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { OutpostClient } from "../../src/client/index.ts";
import { systemActor } from "../../src/modules/audit/audit.service.ts";
import { complianceWriterView, provisionComplianceWriter } from "../../src/modules/compliance/compliance.service.ts";
import { AdminClient } from "../support/admin-client.ts";
import { startWorld, until, type World } from "../messaging/world.ts";
import { readLines } from "./support.ts";

const root = mkdtempSync(join(tmpdir(), "retention-ro-"));
const mnt = join(root, "vol");

function sh(...cmd: string[]): { ok: boolean; err: string } {
  const r = Bun.spawnSync(cmd, { stderr: "pipe", stdout: "ignore" });
  return { ok: r.exitCode === 0, err: r.stderr.toString().trim() };
}

async function remount(mode: "ro" | "rw") {
  // The writer holds no file open between flushes, so a busy mount clears within a flush.
  for (let i = 0; i < 200; i++) {
    if (sh("mount", "-o", `remount,${mode}`, mnt).ok) return;
    await Bun.sleep(5);
  }
  throw new Error(`could not remount ${mnt} ${mode}`);
}

let w: World;
let alice: OutpostClient;
let dm: string;
let admin: AdminClient;
const messagesDir = join(mnt, "messages");

beforeAll(async () => {
  sh("mkdir", "-p", mnt);
  const m = sh("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt);
  if (!m.ok) throw new Error(`this test mounts a tmpfs and needs root: ${m.err}`);
  w = await startWorld();
  await w.addUsers(["alice", "bob"]);
  await provisionComplianceWriter(w.server.ctx, systemActor, w.networkId, { messagesDir, attachmentsDir: join(mnt, "attachments") });
  alice = await w.client("alice");
  await w.client("bob");
  dm = (await alice.openDirect({ username: "bob" })).id;
  admin = new AdminClient(w.server.url);
  await admin.signInFirstTime("admin", w.server.firstAdminPassword!);
});
afterAll(async () => {
  await w?.close();
  if (!sh("umount", mnt).ok) sh("umount", "-l", mnt);
  rmSync(root, { recursive: true, force: true });
});

async function readyz() {
  const r = await fetch(`${w.server.url}/readyz`);
  return { status: r.status, body: (await r.json()) as { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> } };
}

describe("read-only output volume", () => {
  test("failing while read-only, visible in /readyz and the status endpoint; exactly once after", async () => {
    for (let i = 0; i < 5; i++) await alice.sendText(dm, `before ${i}`);
    await until(() => readLines(messagesDir).length === 5, "5 lines before", 10_000);
    expect((await readyz()).status).toBe(200);

    await remount("ro");
    const during = [];
    for (let i = 0; i < 20; i++) during.push(await alice.sendText(dm, `during ${i}`));
    await until(() => complianceWriterView(w.server.ctx, w.networkId).state === "failing", "writer failing", 10_000);
    const ready = await readyz();
    expect(ready.status).toBe(503);
    expect(ready.body.checks.compliance).toMatchObject({ ok: false });
    expect(ready.body.checks.compliance!.detail).toContain(w.networkId);
    expect(ready.body.checks.compliance!.detail).toMatch(/EROFS/);
    const status = (await (await admin.request("GET", `/api/v1/networks/${w.networkId}/compliance`)).json()) as { state: string; lastError: { code: string } | null; backlog: number; failingSince: string | null };
    expect(status.state).toBe("failing");
    expect(status.lastError?.code).toBe("EROFS");
    expect(status.failingSince).not.toBeNull();
    // Nothing acknowledged: the relay still holds all twenty for the compliance device.
    expect(status.backlog).toBe(20);
    expect(readLines(messagesDir).length).toBe(5);

    await remount("rw");
    await until(() => readLines(messagesDir).length === 25, "25 lines after recovery", 20_000);
    await until(() => complianceWriterView(w.server.ctx, w.networkId).backlog === 0, "relay backlog acknowledged", 5000);
    const ids = readLines(messagesDir).map((l) => l.message_id);
    expect(ids.slice(5)).toEqual(during.map((d) => d.packetId));
    expect(new Set(ids).size).toBe(25);
    expect(complianceWriterView(w.server.ctx, w.networkId).state).toBe("running");
    expect((await readyz()).status).toBe(200);
  }, 60_000);
});

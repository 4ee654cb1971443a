// A local writer is part of `outpost serve`: after a restart of the server (on another port)
// the supervisor starts it again by itself; what was sent while it was paused waited on the
// relay; every message is retained exactly once, in order. A missing state file shows in /readyz.
import { renameSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { OutpostClient } from "../../src/client/index.ts";
import { complianceSupervisor } from "../../src/compliance/supervisor.ts";
import { systemActor } from "../../src/modules/audit/audit.service.ts";
import { botStatePath, complianceWriterView, provisionComplianceWriter, setCompliancePaused } from "../../src/modules/compliance/compliance.service.ts";
import { startWorld, until } from "../messaging/world.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { readLines } from "./support.ts";

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe("compliance writer inside serve", () => {
  test("starts again with the server and catches up exactly once", async () => {
    const w = await startWorld({ keepData: true });
    await w.addUsers(["alice", "bob"]);
    const { writer } = await provisionComplianceWriter(w.server.ctx, systemActor, w.networkId, {});
    const alice = await w.client("alice");
    await w.client("bob");
    const dm = (await alice.openDirect({ username: "bob" })).id;
    const sent = [await alice.sendText(dm, "one"), await alice.sendText(dm, "two")];
    await until(() => readLines(writer.options.messagesDir).length === 2, "two lines", 10_000);
    // Pause: the writer stops, messages wait on the relay; then the server goes down.
    await setCompliancePaused(w.server.ctx, systemActor, w.networkId, true);
    sent.push(await alice.sendText(dm, "three while paused"));
    await setCompliancePaused(w.server.ctx, systemActor, w.networkId, false);
    await until(() => readLines(writer.options.messagesDir).length === 3, "three lines after start", 10_000);
    const dataDir = w.server.dataDir;
    await w.close();

    const again: TestServer = await startTestServer({ dataDir });
    cleanup.push(() => again.close());
    await until(() => complianceSupervisor(again.ctx).status(w.networkId)?.connected === true, "writer started by serve", 10_000);
    const alice2 = await OutpostClient.restore({ ...alice.exportState(), config: { serviceUrl: again.url, networkId: w.networkId } });
    await alice2.connect();
    cleanup.push(() => alice2.close());
    sent.push(await alice2.sendText(dm, "four after the restart"));
    await until(() => readLines(writer.options.messagesDir).length === 4, "four lines", 10_000);
    expect(readLines(writer.options.messagesDir).map((l) => l.message_id)).toEqual(sent.map((s) => s.packetId));
    expect((await (await fetch(`${again.url}/readyz`)).json()) as object).toMatchObject({ ready: true, checks: { compliance: { ok: true } } });

    // Its state file gone: it cannot start, and readiness says so (messages stay queued).
    const sup = complianceSupervisor(again.ctx);
    await sup.stop(w.networkId); // (a clean stop saves the state file; move it after)
    renameSync(botStatePath(again.ctx, w.networkId), `${botStatePath(again.ctx, w.networkId)}.moved`);
    sup.start(w.networkId);
    let r = await fetch(`${again.url}/readyz`);
    for (let i = 0; i < 100 && r.status === 200; i++) {
      await Bun.sleep(20);
      r = await fetch(`${again.url}/readyz`);
    }
    expect(r.status).toBe(503);
    expect(((await r.json()) as { checks: { compliance: { detail: string } } }).checks.compliance.detail).toContain("not running");
    expect(complianceWriterView(again.ctx, w.networkId).state).toBe("stopped");
    renameSync(`${botStatePath(again.ctx, w.networkId)}.moved`, botStatePath(again.ctx, w.networkId));
    await until(() => complianceSupervisor(again.ctx).status(w.networkId)?.connected === true, "restarted by the supervisor's retry", 10_000);
  }, 60_000);
});

// Memory stays flat while the writer cannot write: with its writing held, the bot keeps at
// most its in-flight window of records (the rest stays queued on the relay, unacknowledged),
// drops the connection instead of buffering, and catches up exactly once, in order, after.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutpostClient } from "../../src/client/index.ts";
import { ComplianceBot, saveBotState } from "../../src/compliance/bot.ts";
import { systemActor } from "../../src/modules/audit/audit.service.ts";
import { complianceWriterView, provisionComplianceWriter } from "../../src/modules/compliance/compliance.service.ts";
import { startWorld, until, type World } from "../messaging/world.ts";
import { tempDir } from "../support/server.ts";
import { readLines } from "./support.ts";

let w: World;
let bot: ComplianceBot;
const dir = tempDir("retention-flow-");

beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob"], { cheapHash: true });
  const { password } = await provisionComplianceWriter(w.server.ctx, systemActor, w.networkId, { mode: "remote", username: "flowbot" });
  const device = await OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: w.networkId }, username: "flowbot", password, prekeyCount: 50 });
  await device.api.call("POST", "/api/client/v1/compliance/claim");
  saveBotState(join(dir, "state.json"), device.exportState());
  bot = await ComplianceBot.start({ statePath: join(dir, "state.json"), writer: { messagesDir: join(dir, "m"), attachmentsDir: join(dir, "a") }, maxQueuedFrames: 100 });
});
afterAll(async () => {
  await bot?.close();
  await w.close();
});

describe("flow control", () => {
  test("a held writer keeps at most the in-flight window; the relay keeps the rest", async () => {
    const alice = await w.client("alice");
    alice.prekeyBatch = 64;
    await w.client("bob");
    const dm = (await alice.openDirect({ username: "bob" })).id;
    let disconnects = 0;
    bot.client.on("disconnected", () => disconnects++);
    bot.pause();
    const sent = [];
    for (let i = 0; i < 1500; i += 50) {
      const batch = [];
      for (let j = i; j < i + 50; j++) batch.push(alice.sendText(dm, `held ${j}`));
      sent.push(...(await Promise.all(batch)));
    }
    await until(() => bot.status().backlog > 0 && !bot.client.connected, "the bot stops reading", 10_000);
    await Bun.sleep(300);
    const held = bot.status().backlog;
    await Bun.sleep(500);
    // In memory: at most the frames it had queued plus the handler window, and not growing.
    expect(bot.status().backlog).toBe(held);
    expect(held).toBeLessThanOrEqual(100 + 256);
    expect(disconnects).toBeGreaterThan(0);
    expect(complianceWriterView(w.server.ctx, w.networkId).backlog).toBe(1500);
    expect(readLines(join(dir, "m"))).toHaveLength(0);

    bot.resume();
    await until(() => readLines(join(dir, "m")).length === 1500, "1500 lines after resume", 30_000);
    // In the relay's order (sends within a batch of 50 race each other to the relay).
    const relayOrder = (w.server.ctx.storage.readConns[0]!.query("select p.packet_id as id from packet_wraps x join packets p on p.seq = x.seq where x.device_id = ? order by x.seq").all(bot.client.deviceId) as { id: string }[]).map((r) => r.id);
    expect(new Set(relayOrder)).toEqual(new Set(sent.map((s) => s.packetId)));
    expect(readLines(join(dir, "m")).map((l) => l.message_id)).toEqual(relayOrder);
    await until(() => complianceWriterView(w.server.ctx, w.networkId).backlog === 0, "relay backlog acknowledged", 5000);
  }, 60_000);
});

// The SDK's reconnection when its server goes away and comes back (what the browser client
// builds its offline behaviour on): a device restored from saved state with a kept policy
// starts without the server; reconnectNow() skips the backoff wait (the browser calls it on
// its `online` event); what was sent to it meanwhile is delivered after the reconnection.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutpostClient } from "../../src/client/client.ts";
import { collect, inbox, startWorld, until, type World } from "../messaging/world.ts";
import { freePort } from "../support/server.ts";

let w: World;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob", "carol"], { cheapHash: true });
}, 30_000);
afterAll(async () => {
  await w.server.restart().catch(() => undefined); // if a failure left it halted
  await w.close();
});

describe("reconnection", () => {
  test("restore with a kept policy needs no server; reconnectNow skips a long backoff; what was missed arrives", async () => {
    const alice = await w.client("alice");
    const bob = await w.client("bob");
    const dm = await alice.openDirect({ username: "bob" });
    await alice.sendText(dm.id, "warm-up"); // caches bob's devices and prekeys for sealing offline
    const state = alice.exportState();
    const policy = alice.policy!;
    await alice.close();
    await bob.sendText(dm.id, "sent while alice was away");

    await w.server.halt();
    // Without a kept policy, restoring asks the server (and fails while it is away).
    await expect(OutpostClient.restore(state)).rejects.toThrow();
    const again = await OutpostClient.restore(state, { policy });
    w.clients.push(again);
    again.maxReconnectDelayMs = 10 * 60_000;
    const drops = collect(again, "disconnected");
    const connected = collect(again, "connected");
    void again.connect();
    // Each failed attempt doubles the wait: after 7 of them the next one is 12.8 s away.
    await until(() => drops.length >= 7, "seven failed connection attempts", 30_000);
    expect(connected).toHaveLength(0);
    const got = inbox(again);

    await w.server.restart();
    const t0 = Date.now();
    again.reconnectNow();
    await until(() => connected.length === 1, "connected right after reconnectNow", 5000);
    expect(Date.now() - t0).toBeLessThan(5000);
    await until(() => got.some((m) => (m.content as { text?: string }).text === "sent while alice was away"), "alice receives what bob sent meanwhile", 15_000);
    await again.sendText(dm.id, "back");
    // Called while connected it does nothing.
    again.reconnectNow();
    expect(again.connected).toBe(true);
  }, 60_000);

  test("a server that accepts connections but never answers does not stall the reconnection loop", async () => {
    const carol = await w.client("carol", { connect: false });
    // A black hole: TCP connections are accepted, nothing is ever answered.
    const port = await freePort();
    const hole = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {}, open() {} } });
    try {
      const state = carol.exportState();
      const lost = await OutpostClient.restore({ ...state, config: { ...state.config, serviceUrl: `http://127.0.0.1:${port}` } }, { policy: carol.policy! });
      w.clients.push(lost);
      lost.connectTimeoutMs = 300;
      const drops = collect(lost, "disconnected");
      void lost.connect();
      // Each attempt is given up after 300 ms and the next one follows the backoff.
      await until(() => drops.length >= 3, "three abandoned attempts", 10_000);
      expect(lost.connected).toBe(false);
      await lost.close();
    } finally {
      hole.stop(true);
    }
  });
});

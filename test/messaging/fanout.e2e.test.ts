// One message to a 500-member room with every member online: each device gets it once.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { OutpostClient } from "../../src/client/index.ts";
import { startWorld, until, type World } from "./world.ts";

const N = 500;
let w: World;
let members: OutpostClient[] = [];
beforeAll(async () => {
  w = await startWorld();
  const names = Array.from({ length: N }, (_, i) => `m${i}`);
  await w.addUsers(names, { cheapHash: true });
  // Few prekeys per device: generating 100 x 500 keys would dominate the test's time.
  members = [];
  for (let i = 0; i < N; i += 50) members.push(...(await Promise.all(names.slice(i, i + 50).map((n) => w.client(n, { prekeyCount: 3 })))));
}, 120_000);
afterAll(() => w.close());

test("a 500-member room: one message reaches all 500 online members", async () => {
  const [owner] = members as [OutpostClient];
  const room = await owner.createRoom({ title: "All hands", memberIds: members.map((m) => m.userId) });
  expect(room.members).toHaveLength(N);
  const got = new Map<string, number>();
  let target = "";
  for (const m of members) m.on("message", (e) => e.message.packetId === target && got.set(m.userId, (got.get(m.userId) ?? 0) + 1));
  const { packet, packetId } = await owner.seal(room.id, 1000, { text: "all hands at 10" });
  target = packetId;
  const t0 = performance.now();
  await owner.sendPacket(packetId, packet);
  await until(() => got.size === N - 1, "499 other members receive", 20_000);
  const ms = performance.now() - t0;
  console.log(`500-member room: send→all delivered and opened in ${ms.toFixed(0)} ms`);
  expect([...got.values()].every((n) => n === 1)).toBe(true);
  expect(got.has(owner.userId)).toBe(false);
}, 60_000);

// Direct messages end to end: registration, a text exchange, multi-device, edit/delete/recall.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MessageType } from "../../src/client/index.ts";
import { inbox, startWorld, until, type World } from "./world.ts";

let w: World;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob"]);
});
afterAll(() => w.close());

describe("direct messages", () => {
  test("alice and bob exchange text; the sender's other device gets a copy", async () => {
    const alice = await w.client("alice");
    const code = await alice.createSyncCode();
    const alice2 = await w.client("alice", { syncCode: code });
    const bob = await w.client("bob");
    const bobIn = inbox(bob);
    const alice2In = inbox(alice2);
    const aliceIn = inbox(alice);

    const dm = await alice.openDirect({ username: "bob" });
    expect(dm.kind).toBe("direct");
    const sent = await alice.sendText(dm.id, "hello bob, see https://example.org/x");
    expect(sent.seq).toBeGreaterThan(0);
    await until(() => bobIn.length === 1 && alice2In.length === 1, "bob and alice's second device receive");
    expect(bobIn[0]!.content).toEqual({ text: "hello bob, see https://example.org/x", links: [{ url: "https://example.org/x" }] });
    expect(bobIn[0]!.senderUserId).toBe(alice.userId);
    expect(alice2In[0]!.packetId).toBe(sent.packetId);

    await bob.openDirect({ userId: alice.userId });
    const reply = await bob.sendText(dm.id, "hi alice");
    await until(() => aliceIn.length === 1 && alice2In.length === 2, "both alice devices receive the reply");
    expect(aliceIn[0]!.packetId).toBe(reply.packetId);
  });
});

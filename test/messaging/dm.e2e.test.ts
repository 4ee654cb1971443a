// Direct messages end to end: registration, text with links, multi-device copies, edit,
// delete and recall, private properties (star, pin) to own devices only, location and
// live location, verification, quick responses, receipts, typing and presence.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MessageType, OutpostError, type OutpostClient } from "../../src/client/index.ts";
import { updateNetwork } from "../../src/modules/networks/networks.service.ts";
import { defaultSecurityGroup, updateSecurityGroupSettings } from "../../src/modules/security-groups/security-groups.service.ts";
import { collect, inbox, startWorld, until, type World } from "./world.ts";

let w: World;
let alice: OutpostClient, alice2: OutpostClient, bob: OutpostClient;
let dm: string;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob", "carol"]);
  const group = defaultSecurityGroup(w.server.ctx, w.networkId);
  await updateSecurityGroupSettings(w.server.ctx, w.networkId, group.id, { ...group.settings, messaging: { ...group.settings.messaging, quickResponses: ["On my way", "Call me"] } });
  alice = await w.client("alice");
  alice2 = await w.client("alice", { syncCode: await alice.createSyncCode() });
  bob = await w.client("bob");
  dm = (await alice.openDirect({ username: "bob" })).id;
  await bob.openDirect({ userId: alice.userId });
});
afterAll(() => w.close());

describe("direct messages", () => {
  test("text with links reaches the recipient and the sender's other device, in order", async () => {
    const bobIn = inbox(bob);
    const alice2In = inbox(alice2);
    const aliceIn = inbox(alice);
    const sent = [];
    for (let i = 0; i < 20; i++) sent.push(await alice.sendText(dm, `message ${i} https://example.org/${i}`));
    await until(() => bobIn.length === 20 && alice2In.length === 20, "20 messages on bob and alice's second device");
    expect(bobIn.map((m) => m.packetId)).toEqual(sent.map((s) => s.packetId));
    expect(bobIn[3]!.content).toEqual({ text: "message 3 https://example.org/3", links: [{ url: "https://example.org/3" }] });
    expect(bobIn[0]!.senderUserId).toBe(alice.userId);
    expect(bobIn[0]!.type).toBe(MessageType.text);
    expect(aliceIn).toHaveLength(0); // the sending device does not get its own packet back

    const reply = await bob.sendText(dm, "hi alice");
    await until(() => aliceIn.length === 1 && alice2In.length === 21, "both alice devices receive the reply");
    expect(aliceIn[0]!.packetId).toBe(reply.packetId);
  });

  test("edit, delete (own devices) and recall (everyone) change what each device shows", async () => {
    const a = await alice.sendText(dm, "first draft");
    const b = await alice.sendText(dm, "to delete");
    const c = await alice.sendText(dm, "to recall");
    await until(() => bob.messages(dm).some((m) => m.packetId === c.packetId), "bob has the three messages");
    await alice.edit(dm, a.packetId, "final text");
    await alice.deleteMessage(dm, b.packetId, { recall: false });
    await alice.deleteMessage(dm, c.packetId, { recall: true });
    await until(() => !bob.messages(dm).some((m) => m.packetId === c.packetId), "recall reaches bob");
    await until(() => !alice2.messages(dm).some((m) => m.packetId === b.packetId), "delete reaches alice's other device");
    const edited = bob.messages(dm).find((m) => m.packetId === a.packetId)!;
    expect(edited.content).toEqual({ text: "final text", links: [] });
    expect(edited.edited).toBe(true);
    // A delete (not a recall) is private: bob still has the message.
    expect(bob.messages(dm).some((m) => m.packetId === b.packetId)).toBe(true);
  });

  test("a recall by someone other than the sender is ignored", async () => {
    const m = await alice.sendText(dm, "mine");
    await until(() => bob.messages(dm).some((x) => x.packetId === m.packetId), "bob has it");
    const bobIn = inbox(alice2);
    await bob.deleteMessage(dm, m.packetId, { recall: true });
    await until(() => bobIn.some((x) => x.type === MessageType.deleteOrRecall), "recall attempt arrives");
    expect(alice2.messages(dm).some((x) => x.packetId === m.packetId)).toBe(true);
  });

  test("star and pin travel only to the user's own devices", async () => {
    const bobIn = inbox(bob);
    const alice2In = inbox(alice2);
    const m = await bob.sendText(dm, "star me");
    await until(() => alice2In.some((x) => x.packetId === m.packetId), "message arrives");
    await alice.star(dm, m.packetId);
    await alice.pinConversation(dm, true);
    await until(() => alice2In.filter((x) => x.type === MessageType.star || x.type === MessageType.pin).length === 2, "own device gets star and pin");
    expect(alice2In.find((x) => x.type === MessageType.star)!.content).toEqual({ attributes: [{ msgid: m.packetId, isstarred: true }] });
    expect(alice2In.find((x) => x.type === MessageType.pin)!.content).toEqual({ pinned: true });
    await alice.sendText(dm, "marker");
    await until(() => bobIn.some((x) => x.type === MessageType.text && (x.content as { text: string }).text === "marker"), "marker arrives");
    expect(bobIn.some((x) => x.type === MessageType.star || x.type === MessageType.pin)).toBe(false);
  });

  test("location and live location updates", async () => {
    const loc = await alice.sendLocation(dm, { latitude: 48.85, longitude: 2.35, live: true });
    await alice.updateLiveLocation(dm, loc.packetId, { latitude: 48.86, longitude: 2.36 });
    await until(() => (bob.messages(dm).find((m) => m.packetId === loc.packetId)?.content as { latitude?: number } | undefined)?.latitude === 48.86, "live update applied");
    expect(bob.messages(dm).find((m) => m.packetId === loc.packetId)!.type).toBe(MessageType.location);
  });

  test("verification: both sides compute the same safety number and exchange a verification message", async () => {
    const n1 = await alice.safetyNumber(bob.userId);
    const n2 = await bob.safetyNumber(alice.userId);
    expect(n1).toBe(n2);
    expect(n1).toMatch(/^(\d{5} ){11}\d{5}$/);
    const bobIn = inbox(bob);
    await alice.sendVerification(dm, 1);
    await until(() => bobIn.some((m) => m.type === MessageType.verification), "verification request arrives");
    expect(bobIn.find((m) => m.type === MessageType.verification)!.content).toEqual({ keyverify: { msgtype: 1 } });
    await bob.markVerified(alice.userId);
  });

  test("quick responses come from the security group", async () => {
    expect(alice.policy!.quickResponses).toEqual(["On my way", "Call me"]);
    const bobIn = inbox(bob);
    await alice.sendQuickResponse(dm, 1);
    await until(() => bobIn.some((m) => (m.content as { text?: string }).text === "Call me"), "quick response arrives");
    expect(() => alice.sendQuickResponse(dm, 5)).toThrow(OutpostError);
  });

  test("typing reaches the other side; presence reaches contacts", async () => {
    const typing = collect(bob, "typing");
    const presence = collect(bob, "presence");
    alice.typing(dm);
    alice.setPresence("busy");
    await until(() => typing.length === 1 && presence.length === 1, "typing and presence arrive");
    expect(typing[0]).toMatchObject({ conversationId: dm, userId: alice.userId });
    expect(presence[0]).toMatchObject({ userId: alice.userId, status: "busy" });
  });

  test("read receipts only when the network allows them", async () => {
    const receipts = collect(alice, "receipt");
    const errors = collect(bob, "error");
    const m = await alice.sendText(dm, "read me");
    await until(() => bob.messages(dm).some((x) => x.packetId === m.packetId), "arrives");
    bob.markRead(dm, [m.packetId]);
    await until(() => receipts.length === 1, "receipt arrives");
    expect(receipts[0]).toMatchObject({ conversationId: dm, userId: bob.userId, packetIds: [m.packetId] });

    await updateNetwork(w.server.ctx, w.networkId, { readReceipts: false });
    bob.control({ t: "receipt", c: dm, ids: [m.packetId] });
    await until(() => errors.length === 1, "refusal arrives");
    expect(errors[0]).toMatchObject({ code: "forbidden" });
    expect(errors[0]!.message).toMatch(/read receipts are turned off/);
    await Bun.sleep(50);
    expect(receipts).toHaveLength(1);
    await updateNetwork(w.server.ctx, w.networkId, { readReceipts: true });
  });

  test("presence is refused when the security group turns it off", async () => {
    await w.addUsers(["dave"], {});
    const group = defaultSecurityGroup(w.server.ctx, w.networkId);
    await updateSecurityGroupSettings(w.server.ctx, w.networkId, group.id, { ...group.settings, general: { ...group.settings.general, userPresence: false } });
    const errors = collect(alice, "error");
    alice.control({ t: "presence", status: "away" });
    await until(() => errors.length === 1, "refusal");
    expect(errors[0]!.message).toMatch(/presence is turned off/);
    await updateSecurityGroupSettings(w.server.ctx, w.networkId, group.id, group.settings);
  });
});

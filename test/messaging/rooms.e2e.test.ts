// Groups and rooms end to end: members manage groups, only moderators change rooms
// (server-enforced), every change also travels as an encrypted control message, a
// 500-member room fans one message out to every online member, and the 500 limit holds.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MessageType, OutpostError, type OutpostClient } from "../../src/client/index.ts";
import { inbox, startWorld, until, type World } from "./world.ts";

let w: World;
let mod: OutpostClient, member: OutpostClient, other: OutpostClient;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["mod", "member", "other"]);
  mod = await w.client("mod");
  member = await w.client("member");
  other = await w.client("other");
});
afterAll(() => w.close());

describe("groups", () => {
  test("a group message reaches every member; any member changes the group", async () => {
    const memberIn = inbox(member);
    const otherIn = inbox(other);
    const g = await mod.createGroup([member.userId, other.userId], { title: "Lunch" });
    expect(g.id).toMatch(/^G[0-9a-f]{63}$/);
    await until(() => memberIn.some((m) => m.type === MessageType.createRoom), "creation control message");
    await mod.sendText(g.id, "noon?");
    await until(() => memberIn.some((m) => m.type === MessageType.text) && otherIn.some((m) => m.type === MessageType.text), "text to both members");
    const changed = await member.updateConversation(g.id, { title: "Lunch at noon" });
    expect(changed.title).toBe("Lunch at noon");
    await until(() => otherIn.some((m) => m.type === MessageType.roomParameters), "4004 control");
    expect(otherIn.find((m) => m.type === MessageType.roomParameters)!.content).toEqual({ control: { changemask: 4, title: "Lunch at noon" } });
    await other.leave(g.id);
    await until(() => memberIn.some((m) => m.type === MessageType.leaveRoom), "4003 control");
    await expect(other.sendText(g.id, "still here?")).rejects.toMatchObject({ code: "not_found" });
  });
});

describe("rooms", () => {
  test("only moderators change title, members, expiration and burn-on-read, or delete the room", async () => {
    const memberIn = inbox(member);
    const room = await mod.createRoom({ title: "Ops", description: "operations", memberIds: [member.userId] });
    expect(room.id).toMatch(/^S[0-9a-f]{63}$/);
    expect(room.members.find((m) => m.userId === mod.userId)!.role).toBe("moderator");
    // Straight at the API, as a modified client would: the server refuses.
    for (const [method, path, body] of [
      ["PATCH", `/api/client/v1/conversations/${room.id}`, { title: "Mine now" }],
      ["PATCH", `/api/client/v1/conversations/${room.id}`, { ttl: 60 }],
      ["PATCH", `/api/client/v1/conversations/${room.id}`, { bor: 10 }],
      ["PATCH", `/api/client/v1/conversations/${room.id}`, { description: "x" }],
      ["POST", `/api/client/v1/conversations/${room.id}/members`, { add: [other.userId] }],
      ["DELETE", `/api/client/v1/conversations/${room.id}`, undefined],
    ] as const) {
      const err = await member.api.call(method, path, body).catch((e: OutpostError) => e);
      expect(err).toBeInstanceOf(OutpostError);
      expect((err as OutpostError).status).toBe(403);
      expect((err as OutpostError).message).toMatch(/only a moderator/);
    }
    await expect(member.changeMembers(room.id, { add: [other.userId] })).rejects.toMatchObject({ code: "forbidden" });
    expect((await mod.conversation(room.id, 0)).title).toBe("Ops");

    const updated = await mod.updateConversation(room.id, { title: "Ops 2", ttl: 3600, bor: 30 });
    expect(updated).toMatchObject({ title: "Ops 2", ttl: 3600, bor: 30 });
    await mod.changeMembers(room.id, { add: [other.userId] });
    await until(() => memberIn.some((m) => m.type === MessageType.roomMembers), "4002 control");
    expect(memberIn.find((m) => m.type === MessageType.roomMembers)!.content).toEqual({ control: { addedusers: [other.userId], deletedusers: [], masters: [] } });
    // A non-member cannot read the room.
    await mod.changeMembers(room.id, { remove: [other.userId] });
    await expect(other.api.call("GET", `/api/client/v1/conversations/${room.id}`)).rejects.toMatchObject({ status: 404 });
    await mod.deleteRoom(room.id);
    await until(() => memberIn.some((m) => m.type === MessageType.deleteRoom), "4005 control");
  });

  test("a sender with a stale member list is refused by the relay and the SDK reseals for the current members", async () => {
    const memberIn = inbox(member);
    const room = await mod.createRoom({ title: "Stale", memberIds: [member.userId, other.userId] });
    await until(() => memberIn.some((m) => m.conversationId === room.id), "creation notice arrives");
    await member.conversation(room.id, 0); // member now caches three members
    const attempts: string[] = [];
    const original = member.sendPacket.bind(member);
    member.sendPacket = (id, bytes) => (attempts.push(id), original(id, bytes));
    // Changed straight through the API: no control message tells member's device.
    await mod.api.call("POST", `/api/client/v1/conversations/${room.id}/members`, { remove: [other.userId] });
    const modIn = inbox(mod);
    const sent = await member.sendText(room.id, "after the change");
    await until(() => modIn.some((m) => m.packetId === sent.packetId), "delivered after the reseal");
    expect(attempts).toHaveLength(2); // refused (unknown_recipient), then resealed
    expect((await member.conversation(room.id)).members.map((m) => m.userId).sort()).toEqual([member.userId, mod.userId].sort());
  });

  test("rooms refuse a 501st member and validate input", async () => {
    const many = await w.addUsers(Array.from({ length: 500 }, (_, i) => `big${i}`));
    const err = await mod.api.call("POST", "/api/client/v1/conversations", { kind: "room", title: "Too big", memberIds: many.map((u) => u.id) }).catch((e: OutpostError) => e);
    expect(err).toMatchObject({ status: 400, code: "validation_failed" });
    expect((err as OutpostError).message).toMatch(/at most 500 members/);
    const noTitle = await mod.api.call("POST", "/api/client/v1/conversations", { kind: "room", memberIds: [] }).catch((e: OutpostError) => e);
    expect(noTitle).toMatchObject({ status: 400, details: [{ path: "title", rule: "required", message: "a room needs a title" }] });
    const unknown = await mod.api.call("POST", "/api/client/v1/conversations", { kind: "group", memberIds: ["nobody"] }).catch((e: OutpostError) => e);
    expect(unknown).toMatchObject({ status: 404 });
    const badKind = await mod.api.call("POST", "/api/client/v1/conversations", { kind: "channel", memberIds: [] }).catch((e: OutpostError) => e);
    expect(badKind).toMatchObject({ status: 400, code: "validation_failed" });
    expect((badKind as OutpostError).details).toEqual([expect.objectContaining({ path: "kind" })]);
  });
});

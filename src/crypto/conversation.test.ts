import { describe, expect, it } from "vitest";
import { conversationKind, directConversationId, isConversationId, newGroupId, newRoomId } from "./conversation.ts";

describe("conversation ids", () => {
  it("derives a direct id from the two users, in either order", async () => {
    const id = await directConversationId("alice@site", "bob@site");
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await directConversationId("bob@site", "alice@site")).toBe(id);
    expect(await directConversationId("alice@site", "carol@site")).not.toBe(id);
    // Length prefixes keep different splits of the same characters apart.
    expect(await directConversationId("ab", "c")).not.toBe(await directConversationId("a", "bc"));
    expect(conversationKind(id)).toBe("direct");
  });

  it("draws room and group ids with their prefixes", async () => {
    const room = await newRoomId();
    const group = await newGroupId();
    expect(room).toMatch(/^S[0-9a-f]{63}$/);
    expect(group).toMatch(/^G[0-9a-f]{63}$/);
    expect(conversationKind(room)).toBe("room");
    expect(conversationKind(group)).toBe("group");
    expect(await newRoomId()).not.toBe(room);
  });

  it.each([
    "",
    "a".repeat(63),
    "a".repeat(65),
    "A".repeat(64),
    "g".repeat(64),
    "s" + "a".repeat(63),
    "S" + "a".repeat(64),
    "G" + "A".repeat(63),
    "X" + "a".repeat(63),
    " " + "a".repeat(63),
  ])("rejects %j", (id) => {
    expect(isConversationId(id)).toBe(false);
    expect(conversationKind(id)).toBeUndefined();
  });
});

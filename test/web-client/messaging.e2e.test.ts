// Browser client messaging between two browser contexts (two users) and with an SDK user:
// a direct message both ways, a room whose moderator change the other member sees, an
// expiring message disappearing from both, edits/recall, failed sends with retry, and
// the interop of browser and SDK.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { inbox, until } from "../messaging/world.ts";
import { pageErrors, startHarness, type Harness, log, convButton, send } from "./harness.ts";

let h: Harness;
let alice: Page;
let bob: Page;
beforeAll(async () => {
  h = await startHarness(["alice", "bob", "carol", "dave"]);
  alice = await h.onboard("alice", "file");
  bob = await h.onboard("bob", "link");
}, 60_000);
afterAll(async () => {
  await h?.close();
});



async function openDm(p: Page, username: string) {
  await p.getByRole("button", { name: "New message" }).click();
  await p.getByRole("dialog").getByLabel("Username").fill(username);
  await p.getByRole("dialog").getByRole("button", { name: "Open" }).click();
  await p.getByRole("heading", { level: 1, name: username }).waitFor();
}

describe("direct messages", () => {
  test("both ways between two browsers, with unread counts, read state, edit and recall", async () => {
    await openDm(alice, "bob");
    await send(alice, "hello bob, see https://example.org/map");
    await log(alice).getByText("Sent").waitFor();
    // Bob's list shows the new conversation with one unread message.
    await convButton(bob, /alice.*1 unread/).waitFor();
    await convButton(bob, /alice/).click();
    await log(bob).getByText("hello bob, see").waitFor();
    await expect.poll(() => convButton(bob, /alice/).textContent()).not.toContain("1");
    // The link is a link (previews and their switch: storage-a11y.e2e.test.ts).
    expect(await log(bob).getByRole("link", { name: "https://example.org/map" }).count()).toBe(1);
    await send(bob, "hello alice");
    await log(alice).getByText("hello alice").waitFor();
    // Bob read Alice's message: her copy shows it (read receipts are on by default).
    await log(alice).locator(".msg.mine").getByText("Read").waitFor();

    // Alice edits her message; Bob sees the new text marked as edited.
    const mine = log(alice).locator(".msg.mine").first();
    await mine.getByLabel("Message actions").click();
    await mine.getByRole("button", { name: "Edit" }).click();
    await mine.getByLabel("Edit message").fill("hello bob (edited)");
    await mine.getByRole("button", { name: "Save" }).click();
    await log(bob).getByText("hello bob (edited)").waitFor();
    expect(await log(bob).getByText("(edited)", { exact: true }).count()).toBe(1);

    // Alice recalls it: it disappears from both.
    await mine.getByLabel("Message actions").click();
    await mine.getByRole("button", { name: "Recall for everyone" }).click();
    await log(alice).getByText("hello bob (edited)").waitFor({ state: "detached" });
    await log(bob).getByText("hello bob (edited)").waitFor({ state: "detached" });
    expect(pageErrors(alice)).toEqual([]);
    expect(pageErrors(bob)).toEqual([]);
  });

  test("an expiring message disappears from both browsers", async () => {
    await convButton(alice, /bob/).click();
    await alice.getByRole("button", { name: "Timers" }).click();
    await alice.getByRole("dialog").getByLabel("Messages expire after").selectOption("10");
    await alice.getByRole("dialog").getByRole("button", { name: "Save" }).click();
    await alice.getByText("expires after 10 s").waitFor();
    await alice.getByRole("dialog").getByRole("button", { name: "Close" }).click();
    await send(alice, "this vanishes soon");
    await log(bob).getByText("this vanishes soon").waitFor();
    // The timer is shown on both sides.
    await log(bob).locator(".msg", { hasText: "this vanishes soon" }).getByText(/expires in/).waitFor();
    await log(alice).locator(".msg", { hasText: "this vanishes soon" }).getByText(/expires in/).waitFor();
    await log(alice).getByText("this vanishes soon").waitFor({ state: "detached", timeout: 15_000 });
    await log(bob).getByText("this vanishes soon").waitFor({ state: "detached", timeout: 15_000 });
    // Turn the timer off again for the other tests.
    await alice.getByRole("button", { name: "Timers" }).click();
    await alice.getByRole("dialog").getByLabel("Messages expire after").selectOption("0");
    await alice.getByRole("dialog").getByRole("button", { name: "Save" }).click();
    await alice.getByText("expires after 10 s").waitFor({ state: "detached" });
    await alice.getByRole("dialog").getByRole("button", { name: "Close" }).click();
  }, 40_000);

  test("a message that cannot go out shows as not sent and goes out once on retry", async () => {
    await convButton(alice, /bob/).click();
    // Offline, the message cannot be sealed for the current devices (the directory is out
    // of reach) or confirmed by the relay: it is marked "Not sent" with a retry button.
    await alice.context().setOffline(true);
    // Past the SDK's 5 s directory cache, sealing needs the server: the failure is immediate
    // and nothing goes out by itself, so only the retry can deliver it.
    await alice.waitForTimeout(5_500);
    await send(alice, "sent while offline");
    const item = log(alice).locator(".msg.mine", { hasText: "sent while offline" });
    await item.getByText(/Not sent/).waitFor({ timeout: 25_000 });
    await alice.context().setOffline(false);
    await item.getByRole("button", { name: "Retry" }).click();
    await item.getByText(/^(Sent|Read)$/).waitFor({ timeout: 15_000 });
    await log(bob).getByText("sent while offline").waitFor();
    expect(await log(bob).getByText("sent while offline").count()).toBe(1);
  }, 60_000);
});

describe("conversation features", () => {
  test("typing, presence, star, pin, location, search on the device and a group", async () => {
    await convButton(alice, /bob/).click();
    await convButton(bob, /alice/).click();
    // Typing shows on the other side; presence is in the list and the header.
    await alice.getByLabel("Message", { exact: true }).pressSequentially("abc");
    await bob.getByText("alice is typing…").waitFor();
    await alice.getByLabel("Message", { exact: true }).fill("");
    await bob.getByText(/Direct message · available/).waitFor();
    await convButton(alice, /bob · available/).waitFor();

    // Star and pin are this user's own (no other device here: nothing travels).
    await send(bob, "star me");
    const item = log(alice).locator(".msg.theirs", { hasText: "star me" });
    await item.waitFor();
    await item.getByLabel("Message actions").click();
    await item.getByRole("button", { name: "Star" }).click();
    await item.getByText("starred").waitFor();
    await alice.getByRole("button", { name: "Pin" }).click();
    await convButton(alice, /^Pinned: bob/).waitFor();
    await alice.getByRole("button", { name: "Unpin" }).click();
    await convButton(alice, /^bob/).waitFor();

    // Location from the browser's geolocation.
    await alice.context().grantPermissions(["geolocation"]);
    await alice.context().setGeolocation({ latitude: 59.3293, longitude: 18.0686, accuracy: 12 });
    await alice.getByRole("button", { name: "Location", exact: true }).click();
    await log(bob).getByText("Location 59.32930, 18.06860 (±12 m)").waitFor();

    // Search finds what is on this device and opens its conversation.
    await bob.getByLabel("Search messages on this device").fill("STAR ME");
    await bob.getByRole("list", { name: "Search results" }).getByRole("button", { name: /star me/ }).click();
    await bob.getByRole("heading", { level: 1, name: "alice" }).waitFor();
    await bob.getByLabel("Search messages on this device").fill("nothing like this");
    await bob.getByText("No messages on this device match.").waitFor();
    await bob.getByLabel("Search messages on this device").fill("");

    // A group of three: created in one browser, a message reaches the other.
    await alice.getByRole("button", { name: "New group" }).click();
    await alice.getByRole("dialog").getByLabel("Title (optional)").fill("Night shift");
    await alice.getByRole("dialog").getByLabel(/Members/).fill("bob, dave");
    await alice.getByRole("dialog").getByRole("button", { name: "Create" }).click();
    await alice.getByText("Group · 3 members").waitFor();
    await send(alice, "group hello");
    await convButton(bob, /Night shift.*1 unread/).click();
    await log(bob).getByText("group hello").waitFor();
    // A user who does not exist is named in the error.
    await alice.getByRole("button", { name: "New message" }).click();
    await alice.getByRole("dialog").getByLabel("Username").fill("nobody-here");
    await alice.getByRole("dialog").getByRole("button", { name: "Open" }).click();
    await alice.getByRole("dialog").getByRole("alert").filter({ hasText: "nobody-here" }).waitFor();
    await alice.getByRole("dialog").getByRole("button", { name: "Close" }).click();
    expect(pageErrors(alice)).toEqual([]);
    expect(pageErrors(bob)).toEqual([]);
  });
});

describe("rooms", () => {
  test("a moderator change made in one browser is seen in the other", async () => {
    await alice.getByRole("button", { name: "New room" }).click();
    const d = alice.getByRole("dialog");
    await d.getByLabel("Title").fill("Ops north");
    await d.getByLabel("Description (optional)").fill("Northern sector");
    await d.getByLabel(/Members/).fill("bob");
    await d.getByRole("button", { name: "Create" }).click();
    await alice.getByRole("heading", { level: 1, name: "Ops north" }).waitFor();

    await convButton(bob, /Ops north/).click();
    await bob.getByRole("button", { name: "Details" }).click();
    const bd = bob.getByRole("dialog");
    // Bob is a plain member: he cannot change the room.
    expect(await bd.getByLabel("Title").isDisabled()).toBe(true);
    expect(await bd.getByRole("button", { name: "Save" }).count()).toBe(0);
    await bd.getByRole("button", { name: "Close" }).click();

    await alice.getByRole("button", { name: "Details" }).click();
    const ad = alice.getByRole("dialog");
    await ad.getByRole("listitem").filter({ hasText: "bob" }).getByRole("button", { name: "Make moderator" }).click();
    await ad.getByRole("listitem").filter({ hasText: "bob" }).getByText("moderator", { exact: true }).waitFor();
    await ad.getByRole("button", { name: "Close" }).click();

    // Bob sees the change in the room and now can moderate: he renames it, Alice sees that.
    await log(bob).getByText("alice made You moderator").waitFor();
    await bob.getByRole("button", { name: "Details" }).click();
    await expect.poll(() => bd.getByLabel("Title").isDisabled()).toBe(false);
    await bd.getByRole("listitem").filter({ hasText: "You" }).getByText("moderator", { exact: true }).waitFor();
    await bd.getByLabel("Title").fill("Ops north (bob)");
    await bd.getByRole("button", { name: "Save" }).click();
    await bob.getByRole("heading", { level: 1, name: "Ops north (bob)" }).waitFor();
    await alice.getByRole("heading", { level: 1, name: "Ops north (bob)" }).waitFor();
    // Bob, now a moderator, adds carol and removes her again; Alice sees both changes.
    await bd.getByLabel("Add members (usernames)").fill("carol");
    await bd.getByRole("button", { name: "Add", exact: true }).click();
    await bd.getByRole("listitem").filter({ hasText: "carol" }).waitFor();
    await log(alice).getByText("bob added carol").waitFor();
    await bd.getByRole("listitem").filter({ hasText: "carol" }).getByRole("button", { name: "Remove" }).click();
    await bd.getByRole("listitem").filter({ hasText: "carol" }).waitFor({ state: "detached" });
    await log(alice).getByText("bob removed carol").waitFor();
    await bd.getByRole("button", { name: "Close" }).click();
    await send(bob, "room message from bob");
    await log(alice).getByText("room message from bob").waitFor();
  });

  test("a member leaving is seen by the others; a deleted room disappears from every member", async () => {
    await alice.getByRole("button", { name: "New room" }).click();
    const d = alice.getByRole("dialog");
    await d.getByLabel("Title").fill("Short-lived");
    await d.getByLabel(/Members/).fill("bob dave");
    await d.getByRole("button", { name: "Create" }).click();
    await alice.getByRole("heading", { level: 1, name: "Short-lived" }).waitFor();
    const dave = await h.world.client("dave");
    const view = (await dave.listConversations()).items.find((c) => c.title === "Short-lived")!;
    await dave.leave(view.id);
    await log(alice).getByText("dave left").waitFor();
    await expect.poll(() => alice.getByText("Room · 2 members").count()).toBe(1);

    await convButton(bob, /Short-lived/).waitFor();
    alice.once("dialog", (dlg) => void dlg.accept());
    await alice.getByRole("button", { name: "Details" }).click();
    await alice.getByRole("dialog").getByRole("button", { name: "Delete room" }).click();
    await convButton(alice, /Short-lived/).waitFor({ state: "detached" });
    await convButton(bob, /Short-lived/).waitFor({ state: "detached" });
  });
});

describe("interop with the SDK", () => {
  test("a browser user and an SDK user exchange messages both ways", async () => {
    const carol = await h.world.client("carol");
    const got = inbox(carol);
    const dm = await carol.openDirect({ username: "alice" });
    await carol.sendText(dm.id, "from the SDK");
    await convButton(alice, /carol/).click();
    await log(alice).getByText("from the SDK").waitFor();
    await send(alice, "from the browser");
    await until(() => got.some((m) => (m.content as { text?: string }).text === "from the browser"), "carol receives alice's browser message", 10_000);
    const m = got.find((x) => (x.content as { text?: string }).text === "from the browser")!;
    expect(m.senderUserId).toBe(h.world.users.get("alice")!.id);
    expect(m.conversationId).toBe(dm.id);
  });
});

// Calls between the browser client (headless Chromium, fake microphone) and an SDK user on a
// real server with its spawned calling node: both directions of start/join, each side gets
// the other's audio decrypted (browser: its receive transform; SDK: byte-identical payloads),
// participants, mute, leave, and the lifecycle 7000 messages.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CallManager, CallStatus, type ActiveCall, type CallContent, type CallEvent } from "../../src/client/calls.ts";
import type { OutpostClient } from "../../src/client/client.ts";
import type { ReceivedMessage } from "../../src/client/messages.ts";
import { syntheticPayload } from "../../src/calling/e2e/support.ts";
import type { ReceivedMedia } from "../../src/calling/participant.ts";
import { defaultSecurityGroup, updateSecurityGroupSettings } from "../../src/modules/security-groups/security-groups.service.ts";
import { callingService } from "../../src/calling/supervisor.ts";
import { toBase64url } from "../../src/crypto/index.ts";
import { inbox, until } from "../messaging/world.ts";
import { accessibilityProblems, screenshot } from "../support/browser.ts";
import { pageErrors, startHarness, type Harness, callBar, untilAsync } from "./harness.ts";

let h: Harness;
let alice: Page;
let bob: OutpostClient;
let bobCalls: CallManager;
let bobInbox: ReceivedMessage[];
/** Bob's second device: never in a call, so the browser must ignore call keys it sends. */
let planted: OutpostClient;

interface Stats {
  encrypted: number;
  decrypted: number;
  failed: number;
  sentPlain: string[];
  receivedPlain: string[];
}
const stats = (p: Page) => p.evaluate(() => (globalThis as unknown as { outpostCallStats: Stats }).outpostCallStats);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

beforeAll(async () => {
  h = await startHarness(["alice", "bob"], {
    world: { overrides: { callingMode: "spawn", callingTcpPort: 0, callingUdpPortMin: 44000, callingUdpPortMax: 44999, logLevel: "warn" } },
    browserArgs: ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection"],
  });
  await callingService(h.world.server.ctx)!.supervisor!.ready();
  bob = await h.world.client("bob", { connect: false });
  bobCalls = new CallManager(bob);
  bobInbox = inbox(bob);
  await bob.connect();
  planted = await h.world.client("bob", { syncCode: await bob.createSyncCode() });
  alice = await h.onboard("alice");
  await alice.getByRole("button", { name: "New message" }).click();
  await alice.getByRole("dialog").getByLabel("Username").fill("bob");
  await alice.getByRole("dialog").getByRole("button", { name: "Open" }).click();
  await alice.getByRole("heading", { level: 1, name: "bob" }).waitFor();
  await alice.getByLabel("Message", { exact: true }).fill("call me");
  await alice.getByRole("button", { name: "Send", exact: true }).click();
  await until(() => bobInbox.some((m) => m.type !== 7000), "bob sees the conversation", 8000);
}, 90_000);
afterAll(async () => {
  await bob?.close();
  await h?.close();
});

function incoming(): Promise<CallEvent> {
  return new Promise((resolve) => {
    const off = bobCalls.onCall((e) => {
      if (e.status === CallStatus.starting && e.message.senderUserId !== bob.userId) (off(), resolve(e));
    });
  });
}

/** Bob sends `n` synthetic audio frames and checks the browser decrypted exactly those bytes. */
async function exchange(call: ActiveCall, n: number) {
  const got: ReceivedMedia[] = [];
  const off = call.onMedia((m) => got.push(m));
  // Both ends hold the call key first (the browser encrypts only once it has one; bob's
  // keyId is set by the key message): frames sent before that are dropped by design.
  await until(() => call.keyId !== undefined && call.keyId !== null, "bob holds the call key", 15_000);
  const start = await stats(alice);
  await untilAsync(async () => (await stats(alice)).encrypted > start.encrypted + 3, "the browser holds the call key", 15_000);
  const before = await stats(alice);
  const sent: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = syntheticPayload(call.participant.participantId, "audio", i);
    sent.push(hex(p.subarray(0, 40)));
    await call.sendRtp("audio", p, { audioLevel: 30 });
    await Bun.sleep(20);
  }
  await untilAsync(async () => (await stats(alice)).decrypted >= before.decrypted + n, "browser decrypts bob's frames", 15_000);
  // The browser's microphone (fake device, Opus) reaches bob: every payload he decrypts is one the browser encrypted.
  await until(() => got.length >= 20, "bob receives browser audio", 15_000);
  off();
  const after = await stats(alice);
  expect(after.failed).toBe(0);
  for (const s of sent.slice(0, Math.max(0, 50 - before.receivedPlain.length))) expect(after.receivedPlain).toContain(s);
  const sentByBrowser = new Set(after.sentPlain);
  expect(got.every((m) => m.from !== call.participant.participantId && m.keyId !== null)).toBe(true);
  const checked = got.filter((m) => sentByBrowser.has(hex(m.payload)));
  // sentPlain keeps the first 500 frames; those bob received must all be among them byte for byte.
  expect(checked.length).toBeGreaterThan(0);
  expect(got.slice(0, 10).every((m) => sentByBrowser.has(hex(m.payload)))).toBe(true);
}

describe("browser and SDK in one call", () => {
  test("the browser starts, bob joins: audio both ways, participants, mute, leave and the end message", async () => {
    const ring = incoming();
    await alice.getByRole("button", { name: "Call", exact: true }).click();
    await callBar(alice).getByRole("status").filter({ hasText: "In call" }).waitFor();
    const e = await ring;
    expect((e.message.content as CallContent).call.mode).toBe("call");
    const call = await bobCalls.join(e.callId, { hostAddress: "127.0.0.1", receive: { audio: 2 } });
    expect(call.keyId).toBe(0);
    await callBar(alice).getByRole("listitem").filter({ hasText: "bob" }).waitFor();
    await exchange(call, 30);
    expect(await accessibilityProblems(alice)).toEqual([]);
    await screenshot(alice, "web-client", "in-call");

    await callBar(alice).getByRole("button", { name: "Mute" }).click();
    await callBar(alice).getByRole("listitem").filter({ hasText: "You (muted)" }).waitFor();
    await callBar(alice).getByRole("button", { name: "Unmute" }).click();

    // Bob leaves: the browser (key owner) rotates the key; the bar drops him.
    await call.leave();
    await untilAsync(async () => (await callBar(alice).getByRole("listitem").count()) === 1, "bob gone from the bar", 8000);
    await callBar(alice).getByRole("button", { name: "Leave call" }).click();
    await callBar(alice).waitFor({ state: "detached" });
    await until(() => bobInbox.some((m) => m.type === 7000 && (m.content as CallContent).call.callid === e.callId && (m.content as CallContent).call.status === CallStatus.completed), "end message", 8000);
    const end = bobInbox.find((m) => m.type === 7000 && (m.content as CallContent).call.status === CallStatus.completed)!;
    expect((end.content as CallContent).call.startmsgid).toBe(e.message.packetId);
    expect((end.content as CallContent).call.participants).toHaveLength(2);
    expect(pageErrors(alice)).toEqual([]);
  }, 60_000);

  test("bob starts, the browser joins with the key bob sends it", async () => {
    const call = await bobCalls.start(bobInbox.find((m) => m.type !== 7000)!.conversationId, { hostAddress: "127.0.0.1", receive: { audio: 2 } });
    await alice.getByRole("button", { name: "Join call" }).click();
    await callBar(alice).getByRole("status").filter({ hasText: "In call" }).waitFor();
    await until(() => call.others.length === 1, "browser in the call", 8000);
    await exchange(call, 30);

    // Key messages the browser must ignore: one from bob's other device (not in the call) that
    // would take over the next key id, and a malformed one from bob's call device. Had the
    // browser taken either, bob could no longer read it (or it him).
    const aliceDevice = call.others[0]!;
    const keyId = call.keyId!;
    // (The relay only lets a device in the call direct a packet to the call's devices, so the
    // planted key goes to the whole conversation, the way a non-participant can send it.)
    await planted.send(call.conversationId, 7000, { call: { callid: call.callId, key: { id: (keyId + 1) & 0xff, k: toBase64url(crypto.getRandomValues(new Uint8Array(32))) } } });
    await bob.send(call.conversationId, 7000, { call: { callid: call.callId, key: { id: keyId, k: "too-short" } } }, { devices: [aliceDevice] });
    await until(() => bobInbox.some((m) => m.senderDeviceId === planted.deviceId && (m.content as CallContent).call?.key !== undefined), "planted key delivered", 5000);
    await Bun.sleep(200);
    await exchange(call, 20);

    await callBar(alice).getByRole("button", { name: "Leave call" }).click();
    await callBar(alice).waitFor({ state: "detached" });
    await until(() => call.others.length === 0, "browser left", 8000);
    await call.leave();
    await alice.getByRole("button", { name: "Call", exact: true }).waitFor();
    expect(pageErrors(alice)).toEqual([]);
  }, 60_000);

  test("a call the security group does not allow is refused with the server's reason, and no call starts", async () => {
    const ctx = h.world.server.ctx;
    const group = defaultSecurityGroup(ctx, h.world.networkId);
    await updateSecurityGroupSettings(ctx, h.world.networkId, group.id, { ...group.settings, calling: { ...group.settings.calling, audio: false } });
    try {
      await alice.getByRole("button", { name: "Call", exact: true }).click();
      await alice.getByRole("alert").filter({ hasText: "calling.audio" }).waitFor();
      expect(await callBar(alice).count()).toBe(0);
      expect(bobInbox.filter((m) => m.type === 7000 && (m.content as CallContent).call.status === CallStatus.starting && m.senderUserId !== bob.userId)).toHaveLength(1);
    } finally {
      await updateSecurityGroupSettings(ctx, h.world.networkId, group.id, group.settings);
    }
    expect(pageErrors(alice)).toEqual([]);
  }, 30_000);
});

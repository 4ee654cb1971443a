// Calls between two browser contexts (alice and bob, fake camera, microphone and screen) on a
// real server with its spawned calling node: each side decrypts the other's audio and video
// and the remote <video> really plays; a shared screen shown on the other side; mute, camera
// off, leave; the same call with the frame transforms in the call worker (RTCRtpScriptTransform);
// and a security group without video: no camera or screen controls, and the node refuses video.
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { OutpostClient } from "../../src/client/client.ts";
import type { CallTicket } from "../../src/calling/calls.service.ts";
import { callingService } from "../../src/calling/supervisor.ts";
import { defaultSecurityGroup, updateSecurityGroupSettings } from "../../src/modules/security-groups/security-groups.service.ts";
import { until } from "../messaging/world.ts";
import { accessibilityProblems, screenshot } from "../support/browser.ts";
import { pageErrors, startHarness, type Harness, convButton, callBar, untilAsync } from "./harness.ts";

let h: Harness;
let alice: Page;
let bob: Page;
/** An SDK user, for what the UI never does (asking the node for a kind the grant refuses). */
let carol: OutpostClient;

type Kind = "audio" | "video" | "screen";
interface Stats {
  mode: string;
  failed: number;
  waiting: number;
  kinds: Record<Kind, { encrypted: number; decrypted: number }>;
}
const stats = (p: Page) => p.evaluate(() => (globalThis as unknown as { outpostCallStats: Stats }).outpostCallStats);
const video = (p: Page, label: string) => callBar(p).locator(`video[aria-label="${label}"]`);

/** The labelled <video> shows decoded pictures: a size, and frames that keep coming. */
async function plays(p: Page, label: string) {
  const v = video(p, label);
  await v.waitFor({ timeout: 20_000 });
  const sample = () => v.evaluate((el: HTMLVideoElement) => ({ width: el.videoWidth, frames: el.getVideoPlaybackQuality().totalVideoFrames, muted: el.muted }));
  await untilAsync(async () => (await sample()).width > 0, `${label} has a picture`, 15_000);
  const first = await sample();
  await untilAsync(async () => (await sample()).frames >= first.frames + 10, `${label} keeps playing`, 15_000);
  // The callback the browser calls per presented frame fires too (what a viewer sees changes).
  const presented = await v.evaluate(
    (el: HTMLVideoElement) =>
      new Promise<number>((resolve) => {
        let n = 0;
        const step = () => (++n >= 5 ? resolve(n) : el.requestVideoFrameCallback(step));
        el.requestVideoFrameCallback(step);
        setTimeout(() => resolve(n), 8000);
      }),
  );
  expect(presented, `${label}: frames presented`).toBe(5);
  expect(first.muted).toBe(true);
  return first;
}

/** Both directions of audio and video decrypt, and nothing failed authentication. */
async function mediaFlows(p: Page, before: Stats, kinds: Kind[]) {
  await untilAsync(
    async () => {
      const s = await stats(p);
      return kinds.every((k) => s.kinds[k].decrypted >= before.kinds[k].decrypted + 20 && s.kinds[k].encrypted >= before.kinds[k].encrypted + 20);
    },
    `${kinds.join("+")} frames both ways`,
    20_000,
  );
  expect((await stats(p)).failed).toBe(0);
}

beforeAll(async () => {
  h = await startHarness(["alice", "bob", "carol"], {
    world: { overrides: { callingMode: "spawn", callingTcpPort: 0, callingUdpPortMin: 45000, callingUdpPortMax: 45999, logLevel: "warn" } },
    browserArgs: ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection", "--auto-select-desktop-capture-source=Entire screen", "--auto-accept-this-tab-capture"],
  });
  await callingService(h.world.server.ctx)!.supervisor!.ready();
  alice = await h.onboard("alice");
  bob = await h.onboard("bob", "link");
  carol = await h.world.client("carol");
  await alice.getByRole("button", { name: "New message" }).click();
  await alice.getByRole("dialog").getByLabel("Username").fill("bob");
  await alice.getByRole("dialog").getByRole("button", { name: "Open" }).click();
  await alice.getByRole("heading", { level: 1, name: "bob" }).waitFor();
  await alice.getByLabel("Message", { exact: true }).fill("video?");
  await alice.getByRole("button", { name: "Send", exact: true }).click();
  await convButton(bob, /alice/).click();
  await bob.getByRole("heading", { level: 1, name: "alice" }).waitFor();
}, 120_000);
// A failed test must not leave the next one in a call.
afterEach(async () => {
  for (const p of [bob, alice]) {
    const leave = callBar(p).getByRole("button", { name: "Leave call" });
    if (await leave.count()) await leave.click();
    await callBar(p).waitFor({ state: "detached" });
  }
});
afterAll(async () => {
  await carol?.close();
  await h?.close();
});

async function bothInCall(caller: Page, callee: Page, calleeName: string, callerName: string) {
  await caller.getByRole("button", { name: "Call", exact: true }).click();
  await callBar(caller).getByRole("status").filter({ hasText: "In call" }).waitFor();
  await callee.getByRole("button", { name: "Join call" }).click();
  await callBar(callee).getByRole("status").filter({ hasText: "In call" }).waitFor();
  await callBar(caller).getByRole("listitem").filter({ hasText: calleeName }).waitFor();
  await callBar(callee).getByRole("listitem").filter({ hasText: callerName }).waitFor();
}

async function leaveBoth() {
  await callBar(bob).getByRole("button", { name: "Leave call" }).click();
  await callBar(bob).waitFor({ state: "detached" });
  await untilAsync(async () => (await callBar(alice).getByRole("listitem").count()) === 1, "bob gone from alice's bar", 10_000);
  await callBar(alice).getByRole("button", { name: "Leave call" }).click();
  await callBar(alice).waitFor({ state: "detached" });
}

describe("a call between two browsers", () => {
  test("audio and video both ways, decrypted and playing; a shared screen; mute, camera off, leave", async () => {
    const [a0, b0] = [await stats(alice), await stats(bob)];
    await bothInCall(alice, bob, "bob", "alice");
    const camera = (p: Page) => callBar(p).getByRole("button", { name: "Camera" });
    await camera(alice).click();
    await camera(bob).click();
    await expect.poll(() => camera(alice).getAttribute("aria-pressed")).toBe("true");
    // The local preview is there (muted, like every tile: sound plays through the call's audio).
    await plays(alice, "Your camera");
    const atAlice = await plays(alice, "Camera of bob");
    const atBob = await plays(bob, "Camera of alice");
    expect(atAlice.width).toBeGreaterThan(0);
    expect(atBob.width).toBeGreaterThan(0);
    await mediaFlows(alice, a0, ["audio", "video"]);
    await mediaFlows(bob, b0, ["audio", "video"]);
    expect((await stats(alice)).mode).toBe("encoded-streams");
    expect(await accessibilityProblems(alice)).toEqual([]);
    await screenshot(alice, "web-client", "call-video-alice");
    await screenshot(bob, "web-client", "call-video-bob");

    // Alice shares her screen: bob sees it large, labelled with her name; stopping takes it away.
    await callBar(alice).getByRole("button", { name: "Share screen" }).click();
    await callBar(alice).getByRole("button", { name: "Stop sharing" }).waitFor();
    await plays(bob, "Screen shared by alice");
    await callBar(bob).getByText("alice is sharing their screen").waitFor();
    await untilAsync(async () => (await stats(bob)).kinds.screen.decrypted >= b0.kinds.screen.decrypted + 10, "bob decrypts the screen", 15_000);
    expect(await accessibilityProblems(bob)).toEqual([]);
    await screenshot(bob, "web-client", "call-screen-share");
    await callBar(alice).getByRole("button", { name: "Stop sharing" }).click();
    await video(bob, "Screen shared by alice").waitFor({ state: "detached", timeout: 10_000 });

    await callBar(alice).getByRole("button", { name: "Mute" }).click();
    await callBar(alice).getByRole("listitem").filter({ hasText: "You (muted)" }).waitFor();
    // Bob turns his camera off: his tile leaves alice's screen, his preview leaves his.
    await camera(bob).click();
    await expect.poll(() => camera(bob).getAttribute("aria-pressed")).toBe("false");
    await video(bob, "Your camera").waitFor({ state: "detached" });
    await video(alice, "Camera of bob").waitFor({ state: "detached", timeout: 10_000 });
    // Alice's camera still reaches bob.
    await plays(bob, "Camera of alice");
    await leaveBoth();
    expect((await stats(alice)).failed).toBe(0);
    expect((await stats(bob)).failed).toBe(0);
    expect(pageErrors(alice)).toEqual([]);
    expect(pageErrors(bob)).toEqual([]);
  }, 120_000);

  test("the same call with the frame transforms in the call worker (RTCRtpScriptTransform)", async () => {
    for (const p of [alice, bob]) await p.evaluate(() => localStorage.setItem("outpost.transform", "script"));
    try {
      const [a0, b0] = [await stats(alice), await stats(bob)];
      // Started and joined with video: the camera is on from the start on both sides.
      await bob.getByRole("button", { name: "Video call" }).click();
      await callBar(bob).getByRole("status").filter({ hasText: "In call" }).waitFor();
      await alice.getByRole("button", { name: "Join with video" }).click();
      await callBar(alice).getByRole("status").filter({ hasText: "In call" }).waitFor();
      await expect.poll(() => callBar(bob).getByRole("button", { name: "Camera" }).getAttribute("aria-pressed")).toBe("true");
      await expect.poll(() => callBar(alice).getByRole("button", { name: "Camera" }).getAttribute("aria-pressed")).toBe("true");
      expect((await stats(alice)).mode).toBe("script-transform");
      expect((await stats(bob)).mode).toBe("script-transform");
      await plays(alice, "Camera of bob");
      await plays(bob, "Camera of alice");
      await mediaFlows(alice, a0, ["audio", "video"]);
      await mediaFlows(bob, b0, ["audio", "video"]);
      await leaveBoth();
    } finally {
      for (const p of [alice, bob]) await p.evaluate(() => localStorage.removeItem("outpost.transform"));
    }
    expect(pageErrors(alice)).toEqual([]);
    expect(pageErrors(bob)).toEqual([]);
  }, 120_000);

  test("a security group without video: camera and screen controls are off with the reason, and the node refuses video", async () => {
    const ctx = h.world.server.ctx;
    const group = defaultSecurityGroup(ctx, h.world.networkId);
    await updateSecurityGroupSettings(ctx, h.world.networkId, group.id, { ...group.settings, calling: { ...group.settings.calling, video: false } });
    try {
      await alice.getByRole("button", { name: "Call", exact: true }).click();
      await callBar(alice).getByRole("status").filter({ hasText: "In call" }).waitFor();
      for (const name of ["Camera", "Share screen"]) {
        const b = callBar(alice).getByRole("button", { name });
        expect(await b.isDisabled()).toBe(true);
        expect(await b.getAttribute("aria-describedby")).toBe("call-video-off");
      }
      await callBar(alice).getByText("Camera and screen sharing are off for your security group (calling.video).").waitFor();
      expect(await accessibilityProblems(alice)).toEqual([]);

      // Asking the node anyway (what a modified client would do) is refused at join.
      const conv = await carol.openDirect({ username: "alice" });
      const ticket = await carol.api.call<CallTicket>("POST", "/api/client/v1/calls", { conversationId: conv.id, mode: "call" });
      expect(ticket.kinds).toEqual({ audio: true, video: false, screen: false });
      const callId = ticket.callId;
      const replies: Record<string, unknown>[] = [];
      carol.on("control", (e) => {
        if (e.frame.call === callId) replies.push(e.frame);
      });
      carol.control({ t: "call", call: callId, m: { t: "join", token: ticket.token, send: ["audio", "video"], receive: ["audio"] } });
      await until(() => replies.some((r) => (r.m as { t?: string } | undefined)?.t === "error"), "the node's answer", 8000);
      expect(replies.find((r) => (r.m as { t?: string }).t === "error")!.m).toMatchObject({ t: "error", code: "kind-not-allowed", fatal: true });
      expect(replies.some((r) => (r.m as { t?: string } | undefined)?.t === "joined")).toBe(false);
      await callBar(alice).getByRole("button", { name: "Leave call" }).click();
      await callBar(alice).waitFor({ state: "detached" });
    } finally {
      await updateSecurityGroupSettings(ctx, h.world.networkId, group.id, group.settings);
    }
    expect(pageErrors(alice)).toEqual([]);
  }, 60_000);
});

// Media details of the node: its own DTLS certificate per peer connection, media ports
// inside the configured UDP range, screen sharing in its own slot, and the active
// speaker taking the audio slot when there are more speakers than slots.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { ReceivedMedia } from "../participant.ts";
import { sharedKey, startTestNode, syntheticPayload, until, type TestNode } from "./support.ts";

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ udpPortMin: 45100, udpPortMax: 45199 });
});
afterAll(async () => {
  await t.stop();
});

const fingerprint = (sdp: string) => /a=fingerprint:sha-256 (\S+)/.exec(sdp)![1];

test("every peer connection has its own DTLS certificate and a UDP port inside the configured range", async () => {
  const ps = await Promise.all(["a", "b", "c"].map((id) => t.join({ callId: "certs", participantId: id })));
  const prints = ps.map((p) => fingerprint(p.pc.remoteDescription!.sdp));
  expect(new Set(prints).size).toBe(3);
  for (const p of ps) {
    const port = Number(/ udp \d+ 127\.0\.0\.1 (\d+) typ host/.exec(p.pc.remoteDescription!.sdp)![1]);
    expect(port).toBeGreaterThanOrEqual(45100);
    expect(port).toBeLessThanOrEqual(45199);
  }
  await Promise.all(ps.map((p) => p.leave()));
});

test("a dozen participants joining at the same moment each get a port of their own", async () => {
  const ps = await Promise.all(Array.from({ length: 12 }, (_, i) => t.join({ callId: "rush", participantId: `r${i}` })));
  const ports = ps.map((p) => Number(/ udp \d+ 127\.0\.0\.1 (\d+) typ host/.exec(p.pc.remoteDescription!.sdp)![1]));
  expect(new Set(ports).size).toBe(12);
  expect(ps.every((p) => p.pc.connectionState === "connected")).toBe(true);
  await Promise.all(ps.map((p) => p.leave()));
});

test("screen sharing travels in a screen slot, apart from the camera", async () => {
  const presenter = await t.join({ callId: "screen", participantId: "presenter" }, { send: ["audio", "video", "screen"], receive: { audio: 1 } });
  const keyframes: string[] = [];
  presenter.onKeyframeRequest((k) => keyframes.push(k));
  const viewer = await t.join({ callId: "screen", participantId: "viewer" }, { send: ["audio"], receive: { audio: 1, video: 1, screen: 1 } });
  await sharedKey(presenter.keyring, viewer.keyring);
  await until(() => viewer.slots.filter((s) => s.participantId === "presenter").length === 3, 3000, "three slots");
  // A new viewer of the camera and the screen: the presenter is asked for a keyframe of each (never of audio).
  await until(() => keyframes.includes("video") && keyframes.includes("screen"), 3000, "keyframe requests");
  expect(keyframes).not.toContain("audio");
  const got: ReceivedMedia[] = [];
  viewer.onMedia((m) => got.push(m));
  const screen = syntheticPayload("presenter", "screen", 0);
  const camera = syntheticPayload("presenter", "video", 0);
  await presenter.sendRtp("screen", screen);
  await presenter.sendRtp("video", camera);
  await until(() => got.length === 2, 3000, "both");
  const byKind = Object.fromEntries(got.map((m) => [m.kind, Buffer.from(m.payload)]));
  expect(byKind.screen!.equals(Buffer.from(screen))).toBe(true);
  expect(byKind.video!.equals(Buffer.from(camera))).toBe(true);
  await presenter.leave();
  await viewer.leave();
});

test("the one screen slot goes to whoever is sharing now, not to the latest to join with a screen m-line", async () => {
  // Browsers offer a screen m-line whether or not they share: three such participants, one viewer.
  const sharer = await t.join({ callId: "share", participantId: "sharer" }, { send: ["audio", "screen"], receive: { audio: 1 } });
  const idle = await t.join({ callId: "share", participantId: "idle" }, { send: ["audio", "screen"], receive: { audio: 1 } });
  const viewer = await t.join({ callId: "share", participantId: "viewer" }, { send: ["audio", "screen"], receive: { audio: 1, screen: 1 } });
  await sharedKey(viewer.keyring, sharer.keyring, idle.keyring);
  const screenSlot = () => viewer.slots.find((s) => s.kind === "screen")?.participantId;
  const got: ReceivedMedia[] = [];
  viewer.onMedia((m) => m.kind === "screen" && got.push(m));
  const share = async (p: typeof sharer, until: () => boolean) => {
    for (let i = 0; i < 200 && !until(); i++) {
      await p.sendRtp("screen", syntheticPayload(p.participantId, "screen", i));
      await Bun.sleep(20);
    }
  };
  await share(sharer, () => screenSlot() === "sharer" && got.some((m) => m.from === "sharer"));
  expect(screenSlot()).toBe("sharer");
  // The other one starts sharing later: the slot follows the latest sharer...
  await share(idle, () => screenSlot() === "idle");
  expect(screenSlot()).toBe("idle");
  // ...and goes back to the first once the second has stopped and the first shares again.
  await share(sharer, () => screenSlot() === "sharer");
  expect(screenSlot()).toBe("sharer");
  await Promise.all([sharer.leave(), idle.leave(), viewer.leave()]);
});

test("more speakers than audio slots: the one speaking is forwarded, and the slot follows the next speaker", async () => {
  const speakers = await Promise.all(["s1", "s2", "s3", "s4"].map((id) => t.join({ callId: "loud", participantId: id }, { send: ["audio"], receive: { audio: 1 } })));
  const listener = await t.join({ callId: "loud", participantId: "ear" }, { send: ["audio"], receive: { audio: 1 } });
  await sharedKey(listener.keyring, ...speakers.map((s) => s.keyring));
  const from = new Map<string, number>();
  listener.onMedia((m) => from.set(m.from ?? "?", (from.get(m.from ?? "?") ?? 0) + 1));
  const talk = async (loud: string, rounds: number) => {
    for (let r = 0; r < rounds; r++) {
      await Promise.all(speakers.map((s, i) => s.sendRtp("audio", syntheticPayload(s.participantId, "audio", r), { audioLevel: s.participantId === loud ? 10 : 127 })));
      await Bun.sleep(20);
    }
  };
  await talk("s2", 30);
  await until(() => listener.slots[0]?.participantId === "s2", 3000, "s2 in the slot");
  from.clear();
  await talk("s2", 10);
  expect([...from.keys()]).toEqual(["s2"]);
  // s2 goes quiet, s4 speaks: within a second the slot moves.
  await talk("s4", 60);
  expect(listener.slots[0]?.participantId).toBe("s4");
  from.clear();
  await talk("s4", 10);
  expect([...from.keys()]).toEqual(["s4"]);
  await Promise.all([...speakers, listener].map((p) => p.leave()));
});

test("broadcast: listeners receive the sender's media and have nothing to send", async () => {
  const sender = await t.join({ callId: "cast", participantId: "anchor", mode: "broadcast", role: "sender" }, { send: ["audio", "video"], receive: { audio: 1 } });
  const listeners = await Promise.all(
    ["l1", "l2", "l3"].map((id) => t.join({ callId: "cast", participantId: id, mode: "broadcast", role: "listener" }, { send: [], receive: { audio: 2, video: 1 } })),
  );
  await sharedKey(sender.keyring, ...listeners.map((l) => l.keyring));
  for (const l of listeners) await until(() => l.slots.filter((s) => s.participantId === "anchor").length === 2, 3000, "listener slots");
  // Listeners are never offered as sources to anyone.
  expect(sender.slots.every((s) => s.participantId === null)).toBe(true);
  const got = listeners.map(() => 0);
  listeners.forEach((l, i) => l.onMedia((m) => m.from === "anchor" && got[i]!++));
  for (let i = 0; i < 10; i++) {
    await sender.sendRtp("audio", syntheticPayload("anchor", "audio", i));
    await sender.sendRtp("video", syntheticPayload("anchor", "video", i));
  }
  await until(() => got.every((n) => n === 20), 3000, "every listener got everything");
  await Promise.all([sender, ...listeners].map((p) => p.leave()));
});

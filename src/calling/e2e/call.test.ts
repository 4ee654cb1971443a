// Three SDK participants on loopback: audio and video forwarded by the real node,
// byte-identical after end-to-end decryption, over UDP and over the one shared TCP port.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { CallParticipant, ReceivedMedia } from "../participant.ts";
import type { MediaKind } from "../signalling.ts";
import { sharedKey, startTestNode, syntheticPayload, until, type TestNode } from "./support.ts";

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  await t.stop();
});

async function threePartyCall(callId: string, forceTcp: boolean) {
  const names = ["alice", "bob", "carol"];
  const ps: CallParticipant[] = [];
  for (const n of names) {
    ps.push(await t.join({ callId, participantId: n, forceTcp }, { send: ["audio", "video"], receive: { audio: 3, video: 3 }, forceTcp }));
  }
  await sharedKey(...ps.map((p) => p.keyring));
  // Every participant sees the other two in its slots before anything is sent.
  for (const p of ps) await until(() => p.slots.filter((s) => s.participantId).length === 4, 5000, `slots of ${p.participantId}`);
  const got = new Map<string, ReceivedMedia[]>(names.map((n) => [n, []]));
  ps.forEach((p, i) => p.onMedia((m) => got.get(names[i]!)!.push(m)));
  const sent = new Map<string, Uint8Array>();
  const N = 40;
  for (let i = 0; i < N; i++) {
    for (const [j, p] of ps.entries()) {
      for (const kind of ["audio", "video"] as MediaKind[]) {
        const payload = syntheticPayload(names[j]!, kind, i);
        sent.set(`${names[j]}/${kind}/${i}`, payload);
        await p.sendRtp(kind, payload);
      }
    }
    await Bun.sleep(5);
  }
  await until(() => [...got.values()].every((g) => g.length >= 4 * N), 8000, "all media");
  for (const [receiver, media] of got) {
    expect(media.length).toBe(4 * N);
    for (const m of media) {
      const label = new TextDecoder().decode(m.payload.subarray(0, 24)).split("/").slice(0, 3).join("/");
      const [from, kind] = label.split("/");
      expect(from).not.toBe(receiver);
      expect(m.from).toBe(from);
      expect(m.kind).toBe(kind);
      expect(Buffer.from(m.payload).equals(Buffer.from(sent.get(label)!))).toBe(true);
      // What crossed the SFU was ciphertext, not the payload.
      expect(Buffer.from(m.wire).includes(Buffer.from(m.payload.subarray(0, 16)))).toBe(false);
    }
  }
  return ps;
}

describe("three-party call", () => {
  test("each participant receives the others' audio and video, byte-identical after decryption (UDP)", async () => {
    const ps = await threePartyCall("call-udp", false);
    const stats = (await (await t.control("/control/stats")).json()) as { calls: { callId: string; participants: unknown[] }[] };
    expect(stats.calls.find((c) => c.callId === "call-udp")?.participants).toHaveLength(3);
    for (const p of ps) await p.leave();
  });

  test("the same call forced over the single shared TCP port", async () => {
    const ps = await threePartyCall("call-tcp", true);
    for (const p of ps) {
      const pair = p.pc.iceTransports[0]!.connection.nominated!;
      expect(pair.protocol.type).toBe("tcp");
      expect(pair.remoteCandidate.port).toBe(t.node.tcpPort);
    }
    for (const p of ps) await p.leave();
  });
});

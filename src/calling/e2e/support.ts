// Test support for the calling node: a real node in this process on loopback, join
// grants issued over its real control channel, and synthetic Opus/VP8-sized payloads.
import { randomBytes } from "node:crypto";
import { createLogger } from "../../log/logger.ts";
import { CallKeyring, newCallKey, type CallKey } from "../frame-crypto.ts";
import { startCallingNode, type CallingNode } from "../node.ts";
import { CallParticipant, type ParticipantOptions } from "../participant.ts";
import type { JoinGrantInput, MediaKind } from "../signalling.ts";

export interface TestNode {
  node: CallingNode;
  secret: string;
  signallingUrl: string;
  control(path: string, init?: RequestInit & { secret?: string }): Promise<Response>;
  grant(g: Partial<JoinGrantInput> & { callId: string; participantId: string }): Promise<string>;
  join(g: Partial<JoinGrantInput> & { callId: string; participantId: string }, opts?: Partial<ParticipantOptions>): Promise<CallParticipant>;
  stop(): Promise<void>;
}

export async function startTestNode(opts: { udpPortMin?: number; udpPortMax?: number } = {}): Promise<TestNode> {
  const secret = randomBytes(32).toString("hex");
  const log = createLogger({ level: "silent", eventLogging: "activity", stdout: false }).logger;
  const node = await startCallingNode({ secret, address: "127.0.0.1", controlPort: 0, tcpPort: 0, udpPortMin: opts.udpPortMin ?? 30000, udpPortMax: opts.udpPortMax ?? 39999, log });
  const control = (path: string, init: RequestInit & { secret?: string } = {}) =>
    fetch(node.url + path, { ...init, headers: { authorization: `Bearer ${init.secret ?? secret}`, "content-type": "application/json", ...(init.headers ?? {}) } });
  const grant = async (g: Partial<JoinGrantInput> & { callId: string; participantId: string }) => {
    const r = await control("/control/join-grants", { method: "POST", body: JSON.stringify({ kinds: { audio: true, video: true, screen: true }, ...g }) });
    if (r.status !== 201) throw new Error(`grant refused: ${r.status} ${await r.text()}`);
    return ((await r.json()) as { token: string }).token;
  };
  const signallingUrl = node.url.replace("http", "ws") + "/signal";
  return {
    node,
    secret,
    signallingUrl,
    control,
    grant,
    async join(g, popts = {}) {
      const token = await grant(g);
      return CallParticipant.join({ signallingUrl, token, send: ["audio"], receive: { audio: 3 }, ...popts });
    },
    stop: () => node.stop(),
  };
}

/** A payload the size of a 20 ms Opus frame (or a small VP8 frame) that names its sender and index. */
export function syntheticPayload(sender: string, kind: MediaKind, i: number): Uint8Array {
  const size = kind === "audio" ? 80 : 900;
  const b = new Uint8Array(size);
  crypto.getRandomValues(b);
  const tag = new TextEncoder().encode(`${sender}/${kind}/${i}/`);
  b.set(tag.subarray(0, Math.min(tag.length, size)));
  return b;
}

export async function sharedKey(...keyrings: CallKeyring[]): Promise<CallKey> {
  const k = newCallKey();
  for (const r of keyrings) await r.install(k);
  return k;
}

export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

/** A signalling-only participant: joins (no media) and reports what the node answered. */
export async function rawJoin(url: string, token: string, send: MediaKind[] = ["audio"], receive: MediaKind[] = ["audio"]): Promise<{ ws: WebSocket; reply: { t: string; code?: string; participantId?: string } }> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("cannot connect"));
  });
  const reply = await new Promise<{ t: string; code?: string }>((resolve) => {
    ws.onmessage = (ev) => resolve(JSON.parse(String(ev.data)));
    ws.send(JSON.stringify({ t: "join", token, send, receive }));
  });
  return { ws, reply };
}

/** Collects every frame a raw signalling socket receives. */
export function collect(ws: WebSocket): { frames: { t: string; code?: string; message?: string }[]; closed: Promise<number> } {
  const frames: { t: string; code?: string }[] = [];
  ws.onmessage = (ev) => frames.push(JSON.parse(String(ev.data)));
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (ev) => resolve(ev.code)));
  return { frames, closed };
}

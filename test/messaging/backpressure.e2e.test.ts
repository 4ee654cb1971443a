// A device that stops reading: the relay must stop writing to it (Bun drops frames past
// its backpressure limit) and, once the device reads again, deliver everything from the
// log by cursor: every packet once, in order. The slow reader is a raw TCP WebSocket
// that pauses its socket, which no WebSocket API can do.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { OutpostClient } from "../../src/client/index.ts";
import { deliveredPacketId } from "../../scripts/lib/messaging-seed.ts";
import { relayHooks } from "../../src/relay/hooks.ts";
import { startWorld, until, type World } from "./world.ts";

let w: World;
let alice: OutpostClient, bob: OutpostClient;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob"]);
  alice = await w.client("alice", { prekeyCount: 5 });
  bob = await w.client("bob", { connect: false, prekeyCount: 5 });
});
afterAll(() => w.close());

function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | payload.length]) : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, Buffer.from(mask), body]);
}

/** Parses server frames (unmasked) from a growing buffer; returns binary payloads. */
function parseFrames(buf: Buffer): { binary: Uint8Array[]; text: string[] } {
  const binary: Uint8Array[] = [];
  const text: string[] = [];
  let o = 0;
  while (o + 2 <= buf.length) {
    const opcode = buf[o]! & 0x0f;
    let len = buf[o + 1]! & 0x7f;
    let h = 2;
    if (len === 126) {
      if (o + 4 > buf.length) break;
      len = buf.readUInt16BE(o + 2);
      h = 4;
    } else if (len === 127) {
      if (o + 10 > buf.length) break;
      len = Number(buf.readBigUInt64BE(o + 2));
      h = 10;
    }
    if (o + h + len > buf.length) break;
    const payload = buf.subarray(o + h, o + h + len);
    if (opcode === 2) binary.push(payload);
    if (opcode === 1) text.push(payload.toString("utf8"));
    o += h + len;
  }
  return { binary, text };
}

test("a device that stops reading gets every packet once, in order, when it reads again", async () => {
  const dm = (await alice.openDirect({ userId: bob.userId })).id;
  const { port } = new URL(w.server.url);
  const state = bob.exportState();
  const sock: Socket = connect(Number(port), "127.0.0.1");
  let received = Buffer.alloc(0);
  sock.on("data", (d: Buffer) => (received = Buffer.concat([received, d])));
  await new Promise((r) => sock.once("connect", r));
  sock.write(`GET /api/client/v1/relay HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await until(() => received.includes("\r\n\r\n"), "upgrade response");
  expect(received.toString("latin1")).toMatch(/^HTTP\/1\.1 101/);
  received = received.subarray(received.indexOf("\r\n\r\n") + 4);
  sock.write(clientFrame(1, new TextEncoder().encode(JSON.stringify({ t: "auth", device: state.deviceId, token: state.token }))));
  await until(() => parseFrames(received).text.some((t) => t.includes('"ready"')), "ready");

  // Stop reading: the kernel buffers fill, then Bun's, then the relay must hold back.
  sock.pause();
  const big = "y".repeat(60_000);
  const sent: string[] = [];
  for (let i = 0; i < 200; i++) sent.push((await alice.sendText(dm, `${i} ${big}`)).packetId);
  await Bun.sleep(300);
  expect(relayHooks(w.server.ctx).stats.backpressurePauses).toBeGreaterThan(0);
  sock.resume();
  await until(() => parseFrames(received).binary.length >= 200, "all 200 packets after resuming", 20_000);
  const frames = parseFrames(received).binary;
  expect(frames.map((f) => deliveredPacketId(f))).toEqual(sent);
  const seqs = frames.map((f) => Number(Buffer.from(f).readBigUInt64BE(0)));
  expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  sock.destroy();
}, 60_000);

// Signalling messages: what is accepted, and the readable problem for what is not.
import { expect, test } from "vitest";
import { callLimits, parseClientMessage } from "./signalling.ts";

const token = "t".repeat(32);

test.each([
  [{ t: "join", token, send: ["audio"], receive: ["audio", "video"] }],
  [{ t: "offer", sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0", send: { audio: "0" }, receive: { audio: ["1"], video: [], screen: [] } }],
  [{ t: "ice", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 } }],
  [{ t: "pause", participantId: "bob", kind: "video" }],
  [{ t: "leave" }],
  [{ t: "ping", n: 3 }],
])("accepts %j", (msg) => {
  expect(parseClientMessage(JSON.stringify(msg)).ok).toBe(true);
});

test.each([
  ["not JSON", "{", /not JSON/],
  ["an unknown type", JSON.stringify({ t: "dance" }), /^t:/],
  ["a short token", JSON.stringify({ t: "join", token: "x", send: [], receive: [] }), /^token/],
  ["a kind twice", JSON.stringify({ t: "join", token, send: ["audio", "audio"], receive: [] }), /^send/],
  ["an unknown kind", JSON.stringify({ t: "join", token, send: ["smell"], receive: [] }), /^send\.0/],
  ["extra fields", JSON.stringify({ t: "leave", admin: true }), /message|admin/],
  ["too many receive slots", JSON.stringify({ t: "offer", sdp: "v=0 xxxxxxxx", send: {}, receive: { audio: Array.from({ length: 9 }, (_, i) => String(i)), video: [], screen: [] } }), /^receive\.audio/],
  ["a participant id with spaces", JSON.stringify({ t: "pause", participantId: "a b", kind: "audio" }), /^participantId/],
  ["a huge frame", "x".repeat(callLimits.maxFrameBytes + 1), /larger than/],
])("refuses %s", (_what, raw, problem) => {
  const r = parseClientMessage(raw);
  expect(r.ok).toBe(false);
  expect(r.ok ? "" : r.problem).toMatch(problem);
});

// Call signalling over the relay: a device's `{t:"call", call, m}` text frames are carried to
// the calling node on one node WebSocket per (device, call), opened by the server when the
// device presents `join` for a call it was granted; the node's answers come back as
// `{t:"call", call, m}` and the end of that link as `{t:"call-closed", call, code, reason}`.
// The node keeps enforcing everything (token, rate limits, frame size); the server only
// checks the grant and tracks who is in which call.
import type { AppContext } from "../app/context.ts";
import { callRegistry, MAX_CALLS_PER_DEVICE } from "../calling/calls.service.ts";
import { callLimits } from "../calling/signalling.ts";
import { callingService } from "../calling/supervisor.ts";
import type { SessionLike } from "./hooks.ts";

/** Frames kept while the node link opens (join, offer and a few ICE candidates). */
const MAX_QUEUED = 32;

interface Link {
  ws: WebSocket;
  queue: string[];
}

const links = new WeakMap<SessionLike, Map<string, Link>>();

function linksOf(session: SessionLike): Map<string, Link> {
  let m = links.get(session);
  if (!m) links.set(session, (m = new Map()));
  return m;
}

function nodeError(session: SessionLike, callId: string, code: string, message: string, fatal: boolean) {
  session.sendControl({ t: "call", call: callId, m: { t: "error", code, message, fatal } });
  if (fatal) session.sendControl({ t: "call-closed", call: callId, code: 1008, reason: code });
}

/** One `{t:"call"}` frame of an authenticated device session. */
export function onCallFrame(ctx: AppContext, session: SessionLike, msg: Record<string, unknown>) {
  const callId = msg.call;
  const m = msg.m;
  if (typeof callId !== "string" || !/^c[0-9a-f]{32}$/.test(callId) || typeof m !== "object" || m === null || Array.isArray(m)) {
    return session.sendControl({ t: "error", code: "malformed", message: "call frames are {t:'call', call: <call id>, m: <signalling message object>}" });
  }
  const text = JSON.stringify(m);
  if (text.length > callLimits.maxFrameBytes) return nodeError(session, callId, "malformed", `signalling messages are at most ${callLimits.maxFrameBytes} bytes`, false);
  const mine = linksOf(session);
  const existing = mine.get(callId);
  if (existing) {
    if (existing.ws.readyState === WebSocket.OPEN) existing.ws.send(text);
    else if (existing.queue.length < MAX_QUEUED) existing.queue.push(text);
    else nodeError(session, callId, "rate-limited", "too many signalling messages before the node link opened", false);
    return;
  }
  if ((m as { t?: unknown }).t !== "join") return nodeError(session, callId, "not-joined", "join first", false);
  if (!callRegistry(ctx).holdsGrant(callId, session.deviceId)) {
    return nodeError(session, callId, "bad-token", "this device holds no join token for that call; start or join it first", true);
  }
  const url = callingService(ctx)?.client.signallingUrl();
  if (!url || url.startsWith("undefined")) return nodeError(session, callId, "internal", "the calling node is not running", true);
  if (mine.size >= MAX_CALLS_PER_DEVICE) return nodeError(session, callId, "rate-limited", `at most ${MAX_CALLS_PER_DEVICE} calls per device at once`, true);

  const ws = new WebSocket(url);
  const link: Link = { ws, queue: [text] };
  mine.set(callId, link);
  ws.onopen = () => {
    for (const q of link.queue.splice(0)) ws.send(q);
  };
  ws.onmessage = (ev) => {
    let out: unknown;
    try {
      out = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    if ((out as { t?: unknown }).t === "joined") callRegistry(ctx).joined(callId, session.deviceId);
    session.sendControl({ t: "call", call: callId, m: out });
  };
  ws.onclose = (ev) => {
    if (mine.get(callId) === link) mine.delete(callId);
    callRegistry(ctx).left(callId, session.deviceId);
    session.sendControl({ t: "call-closed", call: callId, code: ev.code, reason: ev.reason });
  };
  ws.onerror = () => undefined;
}

/** The device's relay connection closed: its node links close too, so the node lets the others know. */
export function closeCallSignalling(session: SessionLike) {
  const mine = links.get(session);
  if (!mine) return;
  for (const l of mine.values()) {
    try {
      l.ws.close(1000, "relay connection closed");
    } catch {
      /* already closing */
    }
  }
  mine.clear();
}

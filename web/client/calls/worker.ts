// The call worker (a second bundle, /app/call-worker-<hash>.js): runs the frame transforms
// for RTCRtpScriptTransform, where the browser hands encoded frames to a worker instead of
// the page. Keys arrive by postMessage; counters go back to the page in batches.
import { CallKeyring } from "../../../src/calling/frame-crypto.ts";
import { decryptFrames, encryptFrames, newFrameStats, statsSink, type EncodedFrame, type FrameSink, type TransformOptions, type WorkerRequest } from "./frames.ts";

interface RtcTransformEvent {
  transformer: { readable: ReadableStream<EncodedFrame>; writable: WritableStream<EncodedFrame>; options: TransformOptions };
}
const scope = self as unknown as { onmessage: (ev: MessageEvent<WorkerRequest>) => void; onrtctransform: (ev: RtcTransformEvent) => void; postMessage(m: unknown): void };

const keyring = new CallKeyring();
// Keys install in the order they were sent (importKey is asynchronous).
let keys = Promise.resolve();
let batch = newFrameStats();
let sink = statsSink(batch);
// Transforms live for the whole call; the batch behind them is swapped after each report.
const live: FrameSink = { sent: (k, p) => sink.sent(k, p), received: (k, slot, p) => sink.received(k, slot, p), failed: (w) => sink.failed(w) };

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.t === "key") keys = keys.then(() => keyring.install({ keyId: m.keyId, raw: m.raw })).catch(() => undefined);
  else if (m.t === "clear") keys = keys.then(() => keyring.clear());
};

scope.onrtctransform = (ev) => {
  const { readable, writable, options } = ev.transformer;
  if (options.dir === "send") encryptFrames(readable, writable, keyring, options.kind, live);
  else decryptFrames(readable, writable, keyring, options.kind, options.slot, live);
};

setInterval(() => {
  if (batch.encrypted + batch.decrypted + batch.failed + batch.waiting === 0) return;
  scope.postMessage(batch);
  batch = newFrameStats();
  sink = statsSink(batch);
}, 200);

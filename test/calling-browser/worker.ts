// Runs in a Web Worker of the test page: the encoded transform that decrypts each
// received audio frame with the call key (the browser side of end-to-end media).
import { CallKeyring } from "../../src/calling/frame-crypto.ts";

const keyring = new CallKeyring();
let keyReady: Promise<void> | undefined;

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function decryptStream(readable: ReadableStream, writable: WritableStream) {
  void readable
    .pipeThrough(
      new TransformStream({
        async transform(frame: { data: ArrayBuffer }, ctl) {
          await keyReady;
          try {
            const plain = await keyring.decrypt(new Uint8Array(frame.data));
            (self as unknown as Worker).postMessage({ ok: hex(plain) });
            frame.data = plain.buffer as ArrayBuffer;
            ctl.enqueue(frame);
          } catch (e) {
            (self as unknown as Worker).postMessage({ error: String(e) });
          }
        },
      }),
    )
    .pipeTo(writable);
}

self.onmessage = (ev: MessageEvent) => {
  const d = ev.data as { key?: { keyId: number; raw: number[] }; readable?: ReadableStream; writable?: WritableStream };
  if (d.key) keyReady = keyring.install({ keyId: d.key.keyId, raw: new Uint8Array(d.key.raw) });
  if (d.readable && d.writable) decryptStream(d.readable, d.writable);
};

(self as unknown as { onrtctransform: (ev: { transformer: { readable: ReadableStream; writable: WritableStream } }) => void }).onrtctransform = (ev) => {
  decryptStream(ev.transformer.readable, ev.transformer.writable);
};

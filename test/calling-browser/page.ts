// The test page's script: joins a call through the node's signalling WebSocket with
// receive-only audio slots and hands every received frame to the decrypting worker.
interface Params {
  signallingUrl: string;
  token: string;
  key: { keyId: number; raw: number[] };
}
type Win = typeof window & { received: string[]; failures: string[]; state: string; joinCall(p: Params): Promise<void> };
const w = window as Win;
w.received = [];
w.failures = [];
w.state = "idle";

w.joinCall = async ({ signallingUrl, token, key }: Params) => {
  const worker = new Worker("/worker.js", { type: "module" });
  worker.postMessage({ key });
  worker.onmessage = (ev) => (ev.data.ok ? w.received.push(ev.data.ok) : w.failures.push(ev.data.error));
  const scriptTransform = "RTCRtpScriptTransform" in window;
  const pc = new RTCPeerConnection(scriptTransform ? {} : ({ encodedInsertableStreams: true } as RTCConfiguration));
  const slots = [pc.addTransceiver("audio", { direction: "recvonly" }), pc.addTransceiver("audio", { direction: "recvonly" })];
  for (const t of slots) {
    if (scriptTransform) {
      const T = (window as unknown as { RTCRtpScriptTransform: new (w: Worker, o?: unknown) => unknown }).RTCRtpScriptTransform;
      (t.receiver as unknown as { transform: unknown }).transform = new T(worker, {});
    } else {
      const { readable, writable } = (t.receiver as unknown as { createEncodedStreams(): { readable: ReadableStream; writable: WritableStream } }).createEncodedStreams();
      worker.postMessage({ readable, writable }, [readable as unknown as Transferable, writable as unknown as Transferable]);
    }
  }
  const ws = new WebSocket(signallingUrl);
  const next = (t: string) =>
    new Promise<{ t: string; sdp?: string; message?: string }>((resolve, reject) => {
      const on = (ev: MessageEvent) => {
        const m = JSON.parse(String(ev.data));
        if (m.t === t) (ws.removeEventListener("message", on), resolve(m));
        else if (m.t === "error") (ws.removeEventListener("message", on), reject(new Error(m.message)));
      };
      ws.addEventListener("message", on);
    });
  await new Promise((r) => (ws.onopen = r));
  w.state = "joining";
  const joined = next("joined");
  ws.send(JSON.stringify({ t: "join", token, send: [], receive: ["audio"] }));
  await joined;
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    setTimeout(resolve, 2000);
  });
  const answer = next("answer");
  ws.send(JSON.stringify({ t: "offer", sdp: pc.localDescription!.sdp, send: {}, receive: { audio: slots.map((t) => t.mid), video: [], screen: [] } }));
  await pc.setRemoteDescription({ type: "answer", sdp: (await answer).sdp! });
  await new Promise<void>((resolve, reject) => {
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") resolve();
      if (pc.connectionState === "failed") reject(new Error("connection failed"));
    };
  });
  w.state = `connected:${scriptTransform ? "script-transform" : "encoded-streams"}`;
};

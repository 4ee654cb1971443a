// Browser calls: start/join through the client API, node signalling carried over the SDK's
// relay connection ({t:"call"} control frames), an RTCPeerConnection negotiated once like the
// SDK's werift participant (microphone, camera and screen send m-lines; audio, video and screen
// receive slots), media frames encrypted/decrypted in encoded transforms (./calls/frames.ts) with
// the per-call key, and the key/lifecycle 7000 messages sent exactly as src/client/calls.ts does.
import { signal } from "@preact/signals";
import { CallKeyring, newCallKey, type CallKey } from "../../src/calling/frame-crypto.ts";
import type { SlotAssignment } from "../../src/calling/signalling.ts";
import { decryptFrames, encryptFrames, mergeStats, newFrameStats, statsSink, type EncodedFrame, type FrameKind, type FrameStats, type TransformOptions, type WorkerRequest } from "./calls/frames.ts";
import type { CallTicket } from "../../src/calling/calls.service.ts";
import type { NodeMessage } from "../../src/calling/signalling.ts";
import type { CallContent } from "../../src/client/calls.ts";
import type { OutpostClient } from "../../src/client/client.ts";
import { fromBase64url, MessageType, toBase64url, toHex } from "../../src/crypto/index.ts";
import type { ReceivedMessage } from "../../src/client/messages.ts";

const CallStatus = { starting: 0, completed: 1, missed: 2, cancelled: 3 } as const;
const CALL_ID = /^c[0-9a-f]{32}$/;
/** Receive slots asked for at join (the node fills them; more sources than slots: the loudest, then join order). */
const RECEIVE_SLOTS = { audio: 3, video: 4, screen: 1 } as const;
/** A tile shows while its slot's frames keep opening; a camera turned off or a share stopped goes after this. */
const LIVE_MS = 1500;

export interface CallView {
  callId: string;
  conversationId: string;
  state: "joining" | "connected" | "ended";
  muted: boolean;
  /** Device ids of the others in the call, in join order. */
  others: string[];
  /** The grant lets this device send video and share its screen (security group `calling.video`). */
  videoAllowed: boolean;
  camera: boolean;
  sharing: boolean;
  /** Which participant the node puts in each receive slot (its `slots` messages). */
  slots: SlotAssignment[];
  /** Video and screen slots whose frames are arriving now. */
  live: string[];
}

/** Pictures of the call: remote receive slots by mid, and this device's camera preview. */
export const callMedia = signal<{ remote: Record<string, MediaStream>; preview: MediaStream | null }>({ remote: {}, preview: null });

/** The call this browser is in (one at a time). */
export const activeCall = signal<CallView | null>(null);
/** Calls others started, by conversation (cleared by their end message). */
export const ringing = signal<Record<string, string>>({});
/** Counters the tests (and a curious user in devtools) read: frames through the transforms. */
export const frameStats: FrameStats = newFrameStats();
const mainSink = statsSink(frameStats);
// Readable from devtools (and the browser tests): whether media really goes through the transforms.
(globalThis as { outpostCallStats?: FrameStats }).outpostCallStats = frameStats;

type EncodedStreams = { readable: ReadableStream<EncodedFrame>; writable: WritableStream<EncodedFrame> };
const streamsOf = (x: RTCRtpSender | RTCRtpReceiver) => (x as unknown as { createEncodedStreams(): EncodedStreams }).createEncodedStreams();
type ScriptTransformCtor = new (worker: Worker, options: TransformOptions) => unknown;
const ScriptTransform = (globalThis as { RTCRtpScriptTransform?: ScriptTransformCtor }).RTCRtpScriptTransform;
/** The worker bundle's hashed path, set by scripts/build-web.ts. */
declare const OUTPOST_CALL_WORKER: string;

/**
 * Where frames are transformed: on the page with createEncodedStreams (Chromium), else in a
 * worker with RTCRtpScriptTransform (the standard API; Firefox, Safari). localStorage
 * `outpost.transform=script` forces the worker where both exist (tests of that path).
 */
function transformMode(): FrameStats["mode"] {
  const streams = "createEncodedStreams" in RTCRtpSender.prototype;
  let forced: string | null = null;
  try {
    forced = localStorage.getItem("outpost.transform");
  } catch {
    /* storage blocked: the default applies */
  }
  if (ScriptTransform && (forced === "script" || !streams)) return "script-transform";
  if (streams) return "encoded-streams";
  throw new Error("this browser cannot encrypt call media end to end (no encoded transforms)");
}

/** One call's frame transforms, on the page or in the call worker. */
class MediaCrypto {
  private worker: Worker | undefined;
  constructor(
    readonly mode: FrameStats["mode"],
    private readonly keyring: CallKeyring,
  ) {
    frameStats.mode = mode;
    if (mode === "script-transform") {
      this.worker = new Worker(OUTPOST_CALL_WORKER, { type: "module", name: "call" });
      this.worker.onmessage = (ev: MessageEvent<FrameStats>) => mergeStats(frameStats, ev.data);
    }
  }

  get pcConfig(): RTCConfiguration {
    return this.mode === "encoded-streams" ? ({ encodedInsertableStreams: true } as RTCConfiguration) : {};
  }

  attach(x: RTCRtpSender | RTCRtpReceiver, options: TransformOptions) {
    if (this.worker) {
      (x as unknown as { transform: unknown }).transform = new ScriptTransform!(this.worker, options);
      return;
    }
    const { readable, writable } = streamsOf(x);
    if (options.dir === "send") encryptFrames(readable, writable, this.keyring, options.kind, mainSink);
    else decryptFrames(readable, writable, this.keyring, options.kind, options.slot, mainSink);
  }

  /** The page's keyring has the key already; the worker gets its own copy. */
  key(k: CallKey) {
    this.post({ t: "key", keyId: k.keyId, raw: k.raw });
  }

  close() {
    this.post({ t: "clear" });
    this.worker?.terminate();
    this.worker = undefined;
  }

  private post(m: WorkerRequest) {
    this.worker?.postMessage(m);
  }
}

async function usernameHash(username: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(username.toLowerCase()))));
}

let sdkClient: OutpostClient | null = null;
let session: Session | null = null;
const pendingKeys = new Map<string, { key: CallKey; from: string }[]>();

/** Wires calls to the signed-in client (once per client). */
export function attachCalls(c: OutpostClient) {
  sdkClient = c;
  c.on("control", (e) => session?.onControl(e.frame));
  c.on("disconnected", () => session?.closed());
  c.on("message", (e) => {
    if (e.message.type === MessageType.call) void onCallMessage(e.message).catch(() => undefined);
  });
}

async function onCallMessage(m: ReceivedMessage) {
  const c = (m.content as Partial<CallContent> | null)?.call;
  if (!c || typeof c.callid !== "string" || !CALL_ID.test(c.callid)) return;
  if (c.key) {
    // A malformed key message (from a buggy or hostile member) is dropped, never thrown.
    if (typeof c.key !== "object" || !Number.isInteger(c.key.id) || c.key.id < 0 || c.key.id > 255 || typeof c.key.k !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(c.key.k)) return;
    const key = { keyId: c.key.id, raw: fromBase64url(c.key.k) };
    if (session?.callId === c.callid) await session.receiveKey(key, m.senderDeviceId);
    else {
      const list = pendingKeys.get(c.callid) ?? [];
      if (pendingKeys.size < 64 && list.length < 8) pendingKeys.set(c.callid, [...list, { key, from: m.senderDeviceId }]);
    }
    return;
  }
  if (c.status === CallStatus.starting && !c.invitemsgid && m.senderUserId !== sdkClient?.userId) {
    ringing.value = { ...ringing.value, [m.conversationId]: c.callid };
    if (session?.callId === c.callid) session.startMessageId = m.packetId;
  } else if (c.status !== undefined && c.status !== CallStatus.starting) {
    const { [m.conversationId]: gone, ...rest } = ringing.value;
    if (gone === c.callid) ringing.value = rest;
  }
}

function api(): OutpostClient {
  if (!sdkClient) throw new Error("not signed in");
  return sdkClient;
}

/** Starts an audio call in a conversation and tells its members (status 0). */
export async function startCall(conversationId: string): Promise<void> {
  const ticket = await api().api.call<CallTicket>("POST", "/api/client/v1/calls", { conversationId, mode: "call" });
  const s = await enter(ticket, true);
  try {
    await s.announce();
  } catch (e) {
    await s.leave();
    throw e;
  }
}

/** Joins a call someone else started. */
export async function joinCall(callId: string): Promise<void> {
  if (!CALL_ID.test(callId)) throw new Error("not a call id");
  const ticket = await api().api.call<CallTicket>("POST", `/api/client/v1/calls/${callId}/join`, {});
  await enter(ticket, false);
}

export async function leaveCall(): Promise<void> {
  await session?.leave();
}

export function setMuted(muted: boolean) {
  session?.mute(muted);
}

/** Turns the camera on or off (the video m-line was negotiated at join: only its track changes). */
export async function setCamera(on: boolean): Promise<void> {
  await session?.setCamera(on);
}

/** Starts or stops sharing the screen (a browser picker asks which screen or window). */
export async function setSharing(on: boolean): Promise<void> {
  await session?.setSharing(on);
}

async function enter(ticket: CallTicket, starter: boolean): Promise<Session> {
  if (session) throw new Error("already in a call");
  const s = new Session(api(), ticket, starter);
  session = s;
  try {
    await s.connect();
  } catch (e) {
    s.closed();
    throw e;
  }
  return s;
}

class Session {
  readonly callId: string;
  readonly conversationId: string;
  private readonly keyring = new CallKeyring();
  private currentKey: CallKey | undefined;
  private readonly media: MediaCrypto;
  private readonly pc: RTCPeerConnection;
  private track: MediaStreamTrack | undefined;
  private videoTx: RTCRtpTransceiver | undefined;
  private screenTx: RTCRtpTransceiver | undefined;
  private camera: MediaStreamTrack | undefined;
  private screen: MediaStreamTrack | undefined;
  /** Receive slots by mid: their kind and the name their transform counts frames under. */
  private readonly slotNames = new Map<string, { kind: FrameKind; slot: string }>();
  private liveTimer: ReturnType<typeof setInterval> | undefined;
  private participantId = "";
  private order: string[] = [];
  private readonly everIn = new Set<string>();
  private readonly waiters = new Set<(m: NodeMessage) => void>();
  private over = false;
  private ended = false;
  private readonly audio: HTMLAudioElement[] = [];
  startMessageId: string | undefined;

  constructor(
    private readonly client: OutpostClient,
    readonly ticket: CallTicket,
    private readonly starter: boolean,
  ) {
    this.callId = ticket.callId;
    this.conversationId = ticket.conversationId;
    this.media = new MediaCrypto(transformMode(), this.keyring);
    this.pc = new RTCPeerConnection(this.media.pcConfig);
    const videoAllowed = ticket.role !== "listener" && ticket.kinds.video && ticket.kinds.screen;
    activeCall.value = { callId: this.callId, conversationId: this.conversationId, state: "joining", muted: false, others: [], videoAllowed, camera: false, sharing: false, slots: [], live: [] };
    callMedia.value = { remote: {}, preview: null };
  }

  private publish(patch: Partial<CallView>) {
    if (activeCall.value?.callId === this.callId) activeCall.value = { ...activeCall.value, others: this.order.filter((id) => id !== this.participantId), ...patch };
  }

  private signal(m: object) {
    this.client.control({ t: "call", call: this.callId, m });
  }

  private next<T extends NodeMessage["t"]>(t: T, ms = 10_000): Promise<Extract<NodeMessage, { t: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (this.waiters.delete(on), reject(new Error(`no ${t} from the calling node`))), ms);
      const on = (m: NodeMessage) => {
        if (m.t === t) (clearTimeout(timer), this.waiters.delete(on), resolve(m as Extract<NodeMessage, { t: T }>));
        else if (m.t === "error" && m.fatal) (clearTimeout(timer), this.waiters.delete(on), reject(new Error(m.message)));
      };
      this.waiters.add(on);
    });
  }

  onControl(frame: Record<string, unknown>) {
    if (frame.call !== this.callId) return;
    if (frame.t === "call-closed") return this.closed();
    if (frame.t !== "call" || !frame.m || typeof frame.m !== "object") return;
    const m = frame.m as NodeMessage;
    for (const fn of [...this.waiters]) fn(m);
    void this.onNodeMessage(m).catch(() => undefined);
  }

  async connect() {
    const sender = this.ticket.role !== "listener";
    const kinds = this.ticket.kinds;
    if (sender && kinds.audio) this.track = (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0];
    // Camera and screen m-lines are offered whenever the grant allows them, without a track yet:
    // turning either on later is a replaceTrack, never a renegotiation (the node has none).
    const sendVideo = sender && kinds.video;
    const sendScreen = sender && kinds.screen;
    const send: FrameKind[] = [...(this.track ? (["audio"] as const) : []), ...(sendVideo ? (["video"] as const) : []), ...(sendScreen ? (["screen"] as const) : [])];
    const receive = (["audio", "video", "screen"] as const).filter((k) => kinds[k]);
    const joined = this.next("joined");
    this.signal({ t: "join", token: this.ticket.token, send, receive });
    const j = await joined;
    this.participantId = j.participantId;
    this.order = [...j.participants.map((p) => p.participantId), j.participantId];
    for (const id of this.order) this.everIn.add(id);
    const audioTx = this.track ? this.pc.addTransceiver(this.track, { direction: "sendonly" }) : undefined;
    if (sendVideo) this.videoTx = this.pc.addTransceiver("video", { direction: "sendonly" });
    if (sendScreen) this.screenTx = this.pc.addTransceiver("video", { direction: "sendonly" });
    const slots = receive.flatMap((kind) => Array.from({ length: RECEIVE_SLOTS[kind] }, () => ({ kind, t: this.pc.addTransceiver(kind === "audio" ? "audio" : "video", { direction: "recvonly" }) })));
    this.pc.ontrack = (ev) => {
      const mid = ev.transceiver.mid;
      if (!mid) return;
      if (ev.track.kind === "audio") {
        const el = new Audio();
        el.srcObject = new MediaStream([ev.track]);
        void el.play().catch(() => undefined);
        this.audio.push(el);
      } else callMedia.value = { ...callMedia.value, remote: { ...callMedia.value.remote, [mid]: new MediaStream([ev.track]) } };
    };
    const sends: [RTCRtpTransceiver | undefined, FrameKind][] = [
      [audioTx, "audio"],
      [this.videoTx, "video"],
      [this.screenTx, "screen"],
    ];
    for (const [t, kind] of sends) if (t) this.media.attach(t.sender, { dir: "send", kind, slot: kind });
    slots.forEach(({ kind, t }, i) => this.media.attach(t.receiver, { dir: "receive", kind, slot: `${kind}-${i}` }));
    await this.pc.setLocalDescription(await this.pc.createOffer());
    slots.forEach(({ kind, t }, i) => this.slotNames.set(t.mid!, { kind, slot: `${kind}-${i}` }));
    // The offer goes out with its candidates (one message, like the SDK participant's).
    await new Promise<void>((resolve) => {
      if (this.pc.iceGatheringState === "complete") return resolve();
      this.pc.onicegatheringstatechange = () => this.pc.iceGatheringState === "complete" && resolve();
      setTimeout(resolve, 2000);
    });
    const answer = this.next("answer");
    const ready = this.next("media-ready");
    ready.catch(() => undefined);
    const mids = (kind: FrameKind) => slots.filter((s) => s.kind === kind).map((s) => s.t.mid!);
    this.signal({
      t: "offer",
      sdp: this.pc.localDescription!.sdp,
      send: Object.fromEntries(sends.filter(([t]) => t).map(([t, kind]) => [kind, t!.mid!])),
      receive: { audio: mids("audio"), video: mids("video"), screen: mids("screen") },
    });
    await this.pc.setRemoteDescription({ type: "answer", sdp: (await answer).sdp });
    await ready;
    if (this.order[0] === this.participantId) await this.takeOverKey();
    for (const p of pendingKeys.get(this.callId) ?? []) await this.receiveKey(p.key, p.from);
    pendingKeys.delete(this.callId);
    this.liveTimer = setInterval(() => this.checkLive(), 300);
    this.publish({ state: "connected" });
  }

  /** Which video and screen slots have pictures now (frames stop when a camera goes off or a share ends). */
  private checkLive() {
    const now = Date.now();
    const live = [...this.slotNames].filter(([, { kind, slot }]) => kind !== "audio" && now - (frameStats.lastFrame[slot] ?? 0) < LIVE_MS).map(([mid]) => mid);
    if (live.join() !== activeCall.value?.live.join()) this.publish({ live });
  }

  private async onNodeMessage(m: NodeMessage) {
    if (this.over) return;
    if (m.t === "ended") this.over = true;
    if (m.t === "slots") this.publish({ slots: m.slots });
    else if (m.t === "participant-joined") {
      this.order.push(m.participant.participantId);
      this.everIn.add(m.participant.participantId);
      // The newcomer gets the current key only: earlier frames stay closed to it.
      if (this.isKeyOwner && this.currentKey) await this.sendKey(this.currentKey, [m.participant.participantId]);
      this.publish({});
    } else if (m.t === "participant-left") {
      this.order = this.order.filter((id) => id !== m.participantId);
      this.publish({});
      // Whoever holds the key now rotates it, so the one who left cannot read what follows.
      if (this.isKeyOwner) await this.rotate();
    } else if (m.t === "ended") {
      if (m.reason === "call-ended" && this.isKeyOwner && !this.ended) {
        this.ended = true;
        await this.writeEnd(this.everIn.size > 1 ? CallStatus.completed : CallStatus.cancelled);
      }
      if (m.reason === "call-ended") this.forgetRing();
      if (m.reason !== "left") this.closed();
    }
  }

  private get isKeyOwner() {
    return this.order[0] === this.participantId;
  }

  private get others() {
    return this.order.filter((id) => id !== this.participantId);
  }

  private async install(k: CallKey) {
    await this.keyring.install(k);
    this.media.key(k);
    this.currentKey = k;
  }

  private async takeOverKey() {
    if (this.keyring.current === undefined) {
      const k = newCallKey();
      await this.install(k);
      if (this.others.length) await this.sendKey(k, this.others);
    } else await this.rotate();
  }

  private async rotate() {
    const k = newCallKey(this.keyring.current);
    await this.install(k);
    if (this.others.length) await this.sendKey(k, this.others);
  }

  private async sendKey(k: CallKey, devices: string[]) {
    const content: CallContent = { call: { callid: this.callId, key: { id: k.keyId, k: toBase64url(k.raw) } } };
    await this.client.send(this.conversationId, MessageType.call, content, { devices });
  }

  /** Only a device in the call now may set the key (one that left must not plant a key it knows). */
  async receiveKey(k: CallKey, from: string) {
    if (from === this.participantId || !this.order.includes(from) || k.raw.length !== 32) return;
    await this.install(k).catch(() => undefined);
  }

  private async hashes(deviceIds: Iterable<string>): Promise<string[]> {
    const want = new Set(deviceIds);
    const view = await this.client.conversation(this.conversationId);
    const users = await this.client.lookupUsers({ userIds: view.members.map((m) => m.userId) });
    return (await Promise.all(users.filter((u) => u.devices.some((d) => want.has(d.deviceId))).map((u) => usernameHash(u.username)))).sort();
  }

  private meetingId() {
    return /^[0-9a-f]{64}$/.test(this.conversationId) ? 0 : 1;
  }

  async announce() {
    const content: CallContent = { call: { callid: this.callId, status: CallStatus.starting, participants: await this.hashes([this.participantId]), meetingid: this.meetingId(), mode: this.ticket.mode } };
    this.startMessageId = (await this.client.send(this.conversationId, MessageType.call, content)).packetId;
  }

  mute(muted: boolean) {
    if (this.track) this.track.enabled = !muted;
    this.publish({ muted });
  }

  async setCamera(on: boolean) {
    if (!this.videoTx) throw new Error("video is off for your security group");
    if (on === !!this.camera) return;
    if (on) {
      const track = (await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } } })).getVideoTracks()[0]!;
      if (session !== this) return track.stop();
      this.camera = track;
      await this.videoTx.sender.replaceTrack(track);
      callMedia.value = { ...callMedia.value, preview: new MediaStream([track]) };
    } else {
      const track = this.camera;
      this.camera = undefined;
      // A null track sends nothing: the others' tiles go when its frames stop.
      await this.videoTx.sender.replaceTrack(null);
      track?.stop();
      callMedia.value = { ...callMedia.value, preview: null };
    }
    this.publish({ camera: on });
  }

  async setSharing(on: boolean) {
    if (!this.screenTx) throw new Error("screen sharing is off for your security group");
    if (on === !!this.screen) return;
    if (on) {
      const track = (await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false })).getVideoTracks()[0]!;
      if (session !== this) return track.stop();
      // Text and edges stay sharp rather than motion smooth.
      track.contentHint = "detail";
      // The browser's own "Stop sharing" (or a closed window) ends the track: stop here too.
      track.addEventListener("ended", () => void this.setSharing(false).catch(() => undefined));
      this.screen = track;
      await this.screenTx.sender.replaceTrack(track);
    } else {
      const track = this.screen;
      this.screen = undefined;
      await this.screenTx.sender.replaceTrack(null);
      track?.stop();
    }
    this.publish({ sharing: on });
  }

  /** Leaves; the last one out writes the end (completed, or cancelled when nobody else came). */
  async leave() {
    if (this.ended) return this.closed();
    this.ended = true;
    const status = this.everIn.size > 1 ? CallStatus.completed : CallStatus.cancelled;
    const ended = this.next("ended", 2000).then(
      (m) => m.remaining,
      () => undefined,
    );
    this.signal({ t: "leave" });
    const remaining = await ended;
    // The last one out: nothing is left to join (our own end message does not come back to us).
    if (remaining === 0) this.forgetRing();
    this.closed();
    if (remaining !== 0 || (!this.starter && status !== CallStatus.completed)) return;
    await this.writeEnd(status);
  }

  private async writeEnd(status: number) {
    const content: CallContent = {
      call: {
        callid: this.callId,
        status: status as 1,
        participants: await this.hashes(this.everIn),
        meetingid: this.meetingId(),
        ...(this.startMessageId ? { startmsgid: this.startMessageId } : {}),
        ...(status === CallStatus.completed ? { duration: Math.max(0, Math.round((Date.now() - Date.parse(this.ticket.startedAt)) / 1000)) } : {}),
      },
    };
    await this.client.send(this.conversationId, MessageType.call, content);
  }

  private forgetRing() {
    const { [this.conversationId]: ring, ...rest } = ringing.value;
    if (ring === this.callId) ringing.value = rest;
  }

  /** The call is over for this browser: media stops and the keys are forgotten. */
  closed() {
    if (session !== this) return;
    session = null;
    clearInterval(this.liveTimer);
    for (const t of [this.track, this.camera, this.screen]) t?.stop();
    for (const el of this.audio) el.srcObject = null;
    this.pc.close();
    this.keyring.clear();
    this.media.close();
    activeCall.value = null;
    callMedia.value = { remote: {}, preview: null };
  }
}

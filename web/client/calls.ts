// Browser calls: start/join through the client API, node signalling carried over the SDK's
// relay connection ({t:"call"} control frames), an RTCPeerConnection negotiated like the SDK's
// werift participant, media frames encrypted/decrypted in encoded streams with the per-call
// key, and the key/lifecycle 7000 messages sent exactly as src/client/calls.ts sends them.
import { signal } from "@preact/signals";
import { CallKeyring, newCallKey, type CallKey } from "../../src/calling/frame-crypto.ts";
import type { CallTicket } from "../../src/calling/calls.service.ts";
import type { NodeMessage } from "../../src/calling/signalling.ts";
import type { CallContent } from "../../src/client/calls.ts";
import type { OutpostClient } from "../../src/client/client.ts";
import { fromBase64url, MessageType, toBase64url, toHex } from "../../src/crypto/index.ts";
import type { ReceivedMessage } from "../../src/client/messages.ts";

const CallStatus = { starting: 0, completed: 1, missed: 2, cancelled: 3 } as const;
const CALL_ID = /^c[0-9a-f]{32}$/;
const RECEIVE_SLOTS = 3;

export interface CallView {
  callId: string;
  conversationId: string;
  state: "joining" | "connected" | "ended";
  muted: boolean;
  /** Device ids of the others in the call, in join order. */
  others: string[];
}

/** The call this browser is in (one at a time). */
export const activeCall = signal<CallView | null>(null);
/** Calls others started, by conversation (cleared by their end message). */
export const ringing = signal<Record<string, string>>({});
/** Counters the tests (and a curious user in devtools) read: frames through the transforms. */
export const frameStats = { encrypted: 0, decrypted: 0, failed: 0, sentPlain: [] as string[], receivedPlain: [] as string[] };

type EncodedFrame = { data: ArrayBuffer };
type EncodedStreams = { readable: ReadableStream<EncodedFrame>; writable: WritableStream<EncodedFrame> };
const streamsOf = (x: RTCRtpSender | RTCRtpReceiver) => (x as unknown as { createEncodedStreams(): EncodedStreams }).createEncodedStreams();
const SAMPLE = 40;
// Readable from devtools (and the browser tests): whether media really goes through the transforms.
(globalThis as { outpostCallStats?: typeof frameStats }).outpostCallStats = frameStats;

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
  private readonly pc = new RTCPeerConnection({ encodedInsertableStreams: true } as RTCConfiguration);
  private track: MediaStreamTrack | undefined;
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
    activeCall.value = { callId: this.callId, conversationId: this.conversationId, state: "joining", muted: false, others: [] };
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
    const sends = this.ticket.role !== "listener" && this.ticket.kinds.audio;
    if (sends) this.track = (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0];
    const joined = this.next("joined");
    this.signal({ t: "join", token: this.ticket.token, send: this.track ? ["audio"] : [], receive: ["audio"] });
    const j = await joined;
    this.participantId = j.participantId;
    this.order = [...j.participants.map((p) => p.participantId), j.participantId];
    for (const id of this.order) this.everIn.add(id);
    const sendTx = this.track ? this.pc.addTransceiver(this.track, { direction: "sendonly" }) : undefined;
    if (sendTx) this.encryptOutgoing(sendTx.sender);
    const recv = Array.from({ length: RECEIVE_SLOTS }, () => this.pc.addTransceiver("audio", { direction: "recvonly" }));
    for (const t of recv) this.decryptIncoming(t.receiver);
    this.pc.ontrack = (ev) => {
      const el = new Audio();
      el.srcObject = new MediaStream([ev.track]);
      void el.play().catch(() => undefined);
      this.audio.push(el);
    };
    await this.pc.setLocalDescription(await this.pc.createOffer());
    // The offer goes out with its candidates (one message, like the SDK participant's).
    await new Promise<void>((resolve) => {
      if (this.pc.iceGatheringState === "complete") return resolve();
      this.pc.onicegatheringstatechange = () => this.pc.iceGatheringState === "complete" && resolve();
      setTimeout(resolve, 2000);
    });
    const answer = this.next("answer");
    const ready = this.next("media-ready");
    ready.catch(() => undefined);
    this.signal({
      t: "offer",
      sdp: this.pc.localDescription!.sdp,
      send: sendTx ? { audio: sendTx.mid! } : {},
      receive: { audio: recv.map((t) => t.mid!), video: [], screen: [] },
    });
    await this.pc.setRemoteDescription({ type: "answer", sdp: (await answer).sdp });
    await ready;
    if (this.order[0] === this.participantId) await this.takeOverKey();
    for (const p of pendingKeys.get(this.callId) ?? []) await this.receiveKey(p.key, p.from);
    pendingKeys.delete(this.callId);
    this.publish({ state: "connected" });
  }

  private encryptOutgoing(sender: RTCRtpSender) {
    const { readable, writable } = streamsOf(sender);
    void readable
      .pipeThrough(
        new TransformStream<EncodedFrame, EncodedFrame>({
          transform: async (frame, ctl) => {
            // Nothing leaves in clear: frames before the key arrives are dropped.
            if (this.keyring.current === undefined) return;
            const plain = new Uint8Array(frame.data);
            frame.data = (await this.keyring.encrypt(plain)).buffer as ArrayBuffer;
            frameStats.encrypted++;
            if (frameStats.sentPlain.length < 500) frameStats.sentPlain.push(toHex(plain));
            ctl.enqueue(frame);
          },
        }),
      )
      .pipeTo(writable)
      .catch(() => undefined);
  }

  private decryptIncoming(receiver: RTCRtpReceiver) {
    const { readable, writable } = streamsOf(receiver);
    void readable
      .pipeThrough(
        new TransformStream<EncodedFrame, EncodedFrame>({
          transform: async (frame, ctl) => {
            try {
              const plain = await this.keyring.decrypt(new Uint8Array(frame.data));
              frameStats.decrypted++;
              if (frameStats.receivedPlain.length < 50) frameStats.receivedPlain.push(toHex(plain.subarray(0, SAMPLE)));
              frame.data = plain.buffer as ArrayBuffer;
              ctl.enqueue(frame);
            } catch {
              frameStats.failed++;
            }
          },
        }),
      )
      .pipeTo(writable)
      .catch(() => undefined);
  }

  private async onNodeMessage(m: NodeMessage) {
    if (this.over) return;
    if (m.t === "ended") this.over = true;
    if (m.t === "participant-joined") {
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

  /** The call is over for this browser: media stops and the keys are forgotten. */
  closed() {
    if (session !== this) return;
    session = null;
    this.track?.stop();
    for (const el of this.audio) el.srcObject = null;
    this.pc.close();
    this.keyring.clear();
    activeCall.value = null;
  }
}

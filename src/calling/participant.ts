// An SDK call participant (a werift peer): joins through the signalling protocol,
// sends RTP whose payloads it encrypts with the current call key, decrypts what the
// SFU forwards, and (as the call's key owner) rotates the key when someone leaves.
import "../reflect.ts";
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  RTP_EXTENSION_URI,
  serializeAudioLevelIndication,
  type RTCRtpSender,
  type RTCRtpTransceiver,
} from "werift";
import { CallKeyring, FrameError, newCallKey, type CallKey } from "./frame-crypto.ts";
import { mediaCodecs, mediaHeaderExtensions } from "./node-peer.ts";
import { mediaKinds, type ErrorCode, type MediaKind, type NodeMessage, type RosterEntry, type SlotAssignment } from "./signalling.ts";

export class CallJoinError extends Error {
  constructor(
    readonly code: ErrorCode | "closed" | "timeout",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where signalling frames travel: the node's own WebSocket (tests, split deployments) or
 * the relay connection of the messaging server (src/client/calls.ts).
 */
export interface SignallingChannel {
  readonly open: boolean;
  send(text: string): void;
  onMessage(fn: (text: string) => void): void;
  /** Called once when the channel is gone (left, refused, or its carrier went away). */
  onClose(fn: () => void): () => void;
  close(): void;
}

/** The node's own signalling WebSocket as a channel. */
export async function webSocketChannel(url: string): Promise<SignallingChannel> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new CallJoinError("closed", "cannot reach the calling node")), { once: true });
  });
  return {
    get open() {
      return ws.readyState === WebSocket.OPEN;
    },
    send: (text) => ws.send(text),
    onMessage: (fn) => ws.addEventListener("message", (ev) => fn(String(ev.data))),
    onClose(fn) {
      if (ws.readyState === WebSocket.CLOSED) {
        fn();
        return () => {};
      }
      const l = () => fn();
      ws.addEventListener("close", l, { once: true });
      return () => ws.removeEventListener("close", l);
    },
    close: () => ws.close(),
  };
}

export interface ParticipantOptions {
  /** ws://host:port/signal of the calling node; or give `channel`. */
  signallingUrl?: string;
  /** Opens the signalling channel (the relay's, in the SDK); takes precedence over signallingUrl. */
  channel?: () => Promise<SignallingChannel>;
  token: string;
  send: MediaKind[];
  receive: Partial<Record<MediaKind, number>>;
  /** Offer only ICE-TCP (the node enforces this anyway when the grant says so). */
  forceTcp?: boolean;
  /** Local address for media; tests use loopback. */
  hostAddress?: string;
  keyring?: CallKeyring;
  /** Encrypt payloads end to end (benchmarks of the forwarding path alone may turn it off). */
  e2ee?: boolean;
  timeoutMs?: number;
}

export interface ReceivedMedia {
  from: string | null;
  kind: MediaKind;
  mid: string;
  keyId: number | null;
  payload: Uint8Array;
  /** The frame as it came off the wire (still encrypted when e2ee is on). */
  wire: Uint8Array;
}

type Listener<T> = (v: T) => void;

export class CallParticipant {
  readonly keyring: CallKeyring;
  participantId = "";
  callId = "";
  roster = new Map<string, RosterEntry>();
  /** CSRC tag → participant id, from the roster (set before any of their media can arrive). */
  private readonly tags = new Map<number, string>();
  slots: SlotAssignment[] = [];
  readonly pc: RTCPeerConnection;
  private readonly senders = new Map<MediaKind, { sender: RTCRtpSender; seq: number; ts: number; ssrc: number }>();
  private readonly listeners = {
    media: new Set<Listener<ReceivedMedia>>(),
    message: new Set<Listener<NodeMessage>>(),
    undecryptable: new Set<Listener<{ from: string | null; error: string; wire: Uint8Array }>>(),
    keyframe: new Set<Listener<MediaKind>>(),
  };
  private ws!: SignallingChannel;
  /** Participant ids the node listed at join, in join order (the key owner is decided from it). */
  initialRoster: string[] = [];
  private closed = false;
  /** Decryption is asynchronous: one chain per slot keeps each stream in order. */
  private readonly chains = new Map<string, Promise<void>>();
  private keyOwner?: { onRotated: (key: CallKey) => void };
  private readonly e2ee: boolean;

  private constructor(private readonly opts: ParticipantOptions) {
    this.keyring = opts.keyring ?? new CallKeyring();
    this.e2ee = opts.e2ee ?? true;
    const host = opts.hostAddress ?? "127.0.0.1";
    this.pc = new RTCPeerConnection({
      iceServers: [],
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: [host],
      iceInterfaceAddresses: { udp4: host },
      iceUseTcp: !!opts.forceTcp,
      bundlePolicy: "max-bundle",
      codecs: mediaCodecs,
      headerExtensions: mediaHeaderExtensions,
      ...(opts.forceTcp ? { iceFilterCandidatePair: (pair) => pair.protocol.type === "tcp" } : {}),
    });
  }

  /** Joins, negotiates and waits until media can flow. Rejects with CallJoinError when refused. */
  static async join(opts: ParticipantOptions): Promise<CallParticipant> {
    const p = new CallParticipant(opts);
    try {
      await p.start();
      return p;
    } catch (e) {
      await p.close();
      throw e;
    }
  }

  private waitFor<T extends NodeMessage["t"]>(t: T, timeoutMs: number): Promise<Extract<NodeMessage, { t: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (cleanup(), reject(new CallJoinError("timeout", `no ${t} within ${timeoutMs} ms`))), timeoutMs);
      const onMsg = (m: NodeMessage) => {
        if (m.t === t) (cleanup(), resolve(m as Extract<NodeMessage, { t: T }>));
        else if (m.t === "error" && m.fatal) (cleanup(), reject(new CallJoinError(m.code, m.message)));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.message.delete(onMsg);
        offClose();
      };
      this.listeners.message.add(onMsg);
      const offClose = this.ws.onClose(() => (cleanup(), reject(new CallJoinError("closed", "signalling closed"))));
    });
  }

  private async start() {
    const timeout = this.opts.timeoutMs ?? 10_000;
    if (this.opts.channel) this.ws = await this.opts.channel();
    else if (this.opts.signallingUrl) this.ws = await webSocketChannel(this.opts.signallingUrl);
    else throw new CallJoinError("closed", "give signallingUrl or channel");
    this.ws.onMessage((text) => this.onSignal(text));
    const receiveKinds = mediaKinds.filter((k) => (this.opts.receive[k] ?? 0) > 0);
    const joined = this.waitFor("joined", timeout);
    this.signal({ t: "join", token: this.opts.token, send: this.opts.send, receive: receiveKinds });
    const j = await joined;
    this.participantId = j.participantId;
    this.callId = j.callId;
    this.initialRoster = j.participants.map((r) => r.participantId);
    for (const r of j.participants) (this.roster.set(r.participantId, r), this.tags.set(r.tag, r.participantId));

    const sendTx = new Map<MediaKind, RTCRtpTransceiver>();
    for (const k of this.opts.send) {
      const track = new MediaStreamTrack({ kind: k === "audio" ? "audio" : "video" });
      sendTx.set(k, this.pc.addTransceiver(track, { direction: "sendonly" }));
    }
    const recvTx: { kind: MediaKind; t: RTCRtpTransceiver }[] = [];
    for (const k of mediaKinds) for (let i = 0; i < (this.opts.receive[k] ?? 0); i++) recvTx.push({ kind: k, t: this.pc.addTransceiver(k === "audio" ? "audio" : "video", { direction: "recvonly" }) });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    for (const [k, t] of sendTx) {
      this.senders.set(k, { sender: t.sender, seq: randomU16(), ts: randomU32(), ssrc: t.sender.ssrc });
      t.sender.onPictureLossIndication.subscribe(() => {
        for (const l of this.listeners.keyframe) l(k);
      });
    }
    for (const { kind, t } of recvTx) {
      t.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => this.onRtp(kind, t.mid!, rtp)));
    }
    const answer = this.waitFor("answer", timeout);
    const mediaReady = this.waitFor("media-ready", timeout);
    mediaReady.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    this.signal({
      t: "offer",
      sdp: this.pc.localDescription!.sdp,
      send: Object.fromEntries([...sendTx].map(([k, t]) => [k, t.mid!])),
      receive: {
        audio: recvTx.filter((r) => r.kind === "audio").map((r) => r.t.mid!),
        video: recvTx.filter((r) => r.kind === "video").map((r) => r.t.mid!),
        screen: recvTx.filter((r) => r.kind === "screen").map((r) => r.t.mid!),
      },
    });
    const a = await answer;
    await this.pc.setRemoteDescription({ type: "answer", sdp: a.sdp });
    await mediaReady;
    await new Promise<void>((resolve, reject) => {
      if (this.pc.connectionState === "connected") return resolve();
      const timer = setTimeout(() => reject(new CallJoinError("timeout", "media connection not established")), timeout);
      const sub = this.pc.connectionStateChange.subscribe((s) => {
        if (s === "connected") (clearTimeout(timer), sub.unSubscribe(), resolve());
        if (s === "failed") (clearTimeout(timer), sub.unSubscribe(), reject(new CallJoinError("timeout", "media connection failed")));
      });
    });
  }

  private signal(msg: object) {
    if (this.ws.open) this.ws.send(JSON.stringify(msg));
  }

  private onSignal(text: string) {
    let m: NodeMessage;
    try {
      m = JSON.parse(text) as NodeMessage;
    } catch {
      return;
    }
    if (m.t === "slots") this.slots = m.slots;
    if (m.t === "participant-joined") (this.roster.set(m.participant.participantId, m.participant), this.tags.set(m.participant.tag, m.participant.participantId));
    if (m.t === "participant-left") {
      this.roster.delete(m.participantId);
      for (const [tag, id] of this.tags) if (id === m.participantId) this.tags.delete(tag);
      // The key owner rotates so the one who left cannot read what follows.
      if (this.keyOwner) void this.rotateKey().then((k) => this.keyOwner?.onRotated(k));
    }
    for (const l of this.listeners.message) l(m);
  }

  private onRtp(kind: MediaKind, mid: string, rtp: RtpPacket) {
    const tag = rtp.header.csrc[0];
    const from = (tag !== undefined ? this.tags.get(tag) : undefined) ?? this.slots.find((s) => s.mid === mid)?.participantId ?? null;
    const wire = new Uint8Array(rtp.payload);
    const run = async () => {
      if (!this.e2ee) {
        for (const l of this.listeners.media) l({ from, kind, mid, keyId: null, payload: wire, wire });
        return;
      }
      try {
        const payload = await this.keyring.decrypt(wire);
        for (const l of this.listeners.media) l({ from, kind, mid, keyId: wire[1]!, payload, wire });
      } catch (e) {
        for (const l of this.listeners.undecryptable) l({ from, error: e instanceof FrameError ? e.message : String(e), wire });
      }
    };
    this.chains.set(mid, (this.chains.get(mid) ?? Promise.resolve()).then(run));
  }

  onMedia(l: Listener<ReceivedMedia>): () => void {
    this.listeners.media.add(l);
    return () => this.listeners.media.delete(l);
  }

  onMessage(l: Listener<NodeMessage>): () => void {
    this.listeners.message.add(l);
    return () => this.listeners.message.delete(l);
  }

  /** The node asks for a keyframe of `kind` (a new viewer, or one that lost pictures): the encoder should send one. */
  onKeyframeRequest(l: Listener<MediaKind>): () => void {
    this.listeners.keyframe.add(l);
    return () => this.listeners.keyframe.delete(l);
  }

  /** Called once the signalling connection ends (left, refused, or the node went away). */
  onClosed(l: () => void): void {
    this.ws.onClose(l);
  }

  onUndecryptable(l: Listener<{ from: string | null; error: string; wire: Uint8Array }>): () => void {
    this.listeners.undecryptable.add(l);
    return () => this.listeners.undecryptable.delete(l);
  }

  /** Sends one RTP packet of `kind`; the payload is encrypted first (end to end). */
  async sendRtp(kind: MediaKind, payload: Uint8Array, opts: { audioLevel?: number; marker?: boolean; samples?: number } = {}): Promise<void> {
    const s = this.senders.get(kind);
    if (!s) throw new Error(`not sending ${kind}`);
    const body = this.e2ee ? await this.keyring.encrypt(payload) : payload;
    s.seq = (s.seq + 1) & 0xffff;
    s.ts = (s.ts + (opts.samples ?? (kind === "audio" ? 960 : 3000))) >>> 0;
    const extensions = [];
    if (kind === "audio" && opts.audioLevel !== undefined) {
      const id = senderExtensionId(s.sender, RTP_EXTENSION_URI.audioLevelIndication);
      if (id) extensions.push({ id, payload: serializeAudioLevelIndication(opts.audioLevel) });
    }
    const header = new RtpHeader({ sequenceNumber: s.seq, timestamp: s.ts, ssrc: s.ssrc, payloadType: 96, marker: opts.marker ?? true, extensions });
    await s.sender.sendRtp(new RtpPacket(header, Buffer.from(body)));
  }

  pause(participantId: string, kind: MediaKind) {
    this.signal({ t: "pause", participantId, kind });
  }

  resume(participantId: string, kind: MediaKind) {
    this.signal({ t: "resume", participantId, kind });
  }

  /** Raw signalling access (tests of bad input). */
  sendSignal(msg: unknown) {
    this.signal(msg as object);
  }

  /** Makes this participant the call's key owner: it rotates the key whenever someone leaves. */
  ownKeys(onRotated: (key: CallKey) => void) {
    this.keyOwner = { onRotated };
  }

  /** A fresh call key, installed here and returned for distribution (in encrypted call messages). */
  async rotateKey(): Promise<CallKey> {
    const k = newCallKey(this.keyring.current);
    await this.keyring.install(k);
    return k;
  }

  /**
   * Leaves and waits (briefly) for the node's goodbye: resolves with how many participants
   * stay, 0 when this was the last one, undefined when the node did not say in time.
   */
  async leaveCounting(timeoutMs = 2000): Promise<number | undefined> {
    if (!this.ws?.open) {
      await this.close();
      return undefined;
    }
    const ended = this.waitFor("ended", timeoutMs).then(
      (m) => m.remaining,
      () => undefined,
    );
    this.signal({ t: "leave" });
    const remaining = await ended;
    await this.close();
    return remaining;
  }

  /** Leaves the call and forgets the call keys. */
  async leave(): Promise<void> {
    if (this.ws?.open) this.signal({ t: "leave" });
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.keyring.clear();
    try {
      this.ws?.close();
    } catch {
      /* already closed */
    }
    await this.pc.close().catch(() => {});
  }
}

function senderExtensionId(sender: RTCRtpSender, uri: string): number | undefined {
  // werift keeps the negotiated extension ids private on the sender.
  const exts = (sender as unknown as { headerExtensions: { id: number; uri: string }[] }).headerExtensions;
  return exts.find((e) => e.uri === uri)?.id;
}

const randomU16 = () => crypto.getRandomValues(new Uint16Array(1))[0]!;
const randomU32 = () => crypto.getRandomValues(new Uint32Array(1))[0]!;

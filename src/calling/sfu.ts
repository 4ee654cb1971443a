// Calls, participants and forwarding: who is in which call, which of their sources
// fills which receive slot of every other participant, and the RTP relay itself
// (packets are forwarded as they came, never decoded; payloads stay end-to-end encrypted).
import "../reflect.ts";
import type { MediaStreamTrack, RTCPeerConnection, RTCRtpSender } from "werift";
import { RTP_EXTENSION_URI, type RtpPacket } from "werift";
import { randomBytes } from "node:crypto";
import type { Logger } from "../log/logger.ts";
import { attachSharedTcp, createNodePeer, onlyTcpCandidates, type CertificatePool, type MediaNetwork } from "./node-peer.ts";
import { ForwardWriter, installRtpFastPath, quickenEvent, quickenReceivePath } from "./rtp-path.ts";
import { callLimits, mediaKinds, type ClientMessage, type ErrorCode, type JoinGrant, type MediaKind, type NodeMessage, type RosterEntry, type SlotAssignment } from "./signalling.ts";

export class CallingError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface SignalPeer {
  send(msg: NodeMessage): void;
  close(code: number, reason: string): void;
}

/** RFC 6464 levels are -dBov: 127 is silence. Quieter than this is not speaking. */
const SPEAKING_LEVEL = 90;
const ACTIVE_WINDOW_MS = 1000;
/**
 * Packets per second one source may have forwarded (burst twice that): well above Opus
 * (50/s) and a few Mbit/s of video, far below what would let one sender flood everyone.
 */
const SOURCE_BUDGET: Record<MediaKind, number> = { audio: 200, video: 2000, screen: 2000 };

class Source {
  readonly slots = new Set<Slot>();
  lastPacketAt = 0;
  /** When the current run of packets began (a camera turned on, a share started). */
  activeSince = 0;
  /** Smoothed audio level (lower is louder); 0 when the sender does not say. */
  level = 127;
  packetsIn = 0;
  dropped = 0;
  /** `participantId:kind`, the name a subscriber pauses it by. */
  readonly key: string;
  /** Asks the sender for a keyframe (video, screen): set once its track is known. */
  sendPli?: () => void;
  private lastPliAt = 0;
  private tokens: number;
  private refilledAt = 0;
  constructor(
    readonly owner: Participant,
    readonly kind: MediaKind,
  ) {
    this.tokens = 2 * SOURCE_BUDGET[kind];
    this.key = `${owner.id}:${kind}`;
  }


  /**
   * A new subscriber (or one that lost pictures) needs a keyframe; at most two requests a second
   * reach the sender. `first`: a subscriber whose connection just came up (once per join) asks
   * regardless, since whatever was asked for while it was connecting never reached it.
   */
  requestKeyframe(now = Date.now(), first = false) {
    if (this.kind === "audio" || !this.sendPli || (!first && now - this.lastPliAt < 500)) return;
    this.lastPliAt = now;
    this.sendPli();
  }

  private withinBudget(now: number): boolean {
    const rate = SOURCE_BUDGET[this.kind];
    this.tokens = Math.min(2 * rate, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Packets arrived within the last second: a camera that is on, a screen being shared. */
  sending(now: number): boolean {
    return now - this.lastPacketAt < ACTIVE_WINDOW_MS;
  }

  speaking(now: number): boolean {
    return now - this.lastPacketAt < ACTIVE_WINDOW_MS && this.level < SPEAKING_LEVEL;
  }

  forward(rtp: RtpPacket, extensions: Record<string, unknown> | undefined, now: number) {
    this.packetsIn++;
    if (!this.withinBudget(now)) {
      this.dropped++;
      return;
    }
    if (!this.sending(now)) this.activeSince = now;
    this.lastPacketAt = now;
    const al = extensions?.[RTP_EXTENSION_URI.audioLevelIndication] as { level: number } | undefined;
    const level = this.kind === "audio" ? (al ? al.level : 0) : 127;
    this.level = this.level * 0.8 + level * 0.2;
    if (this.slots.size === 0) return;
    // Header extensions are per-hop (ids are negotiated per peer connection): the
    // subscriber's sender writes its own; passing ours on could clash with them.
    // Each subscriber's header is written straight into bytes by its slot's writer (rtp-path.ts).
    for (const slot of this.slots) slot.send(rtp.header, rtp.payload, this.owner.tag, now);
  }
}

class Slot {
  source: Source | null = null;
  private rebase = false;
  forwarded = 0;
  private readonly writer: ForwardWriter;
  constructor(
    readonly subscriber: Participant,
    readonly mid: string,
    readonly kind: MediaKind,
    readonly sender: RTCRtpSender,
  ) {
    this.writer = new ForwardWriter(sender);
  }

  assign(source: Source | null) {
    if (this.source === source) return;
    this.source?.slots.delete(this);
    this.source = source;
    source?.slots.add(this);
    // A new source in the slot: keep the subscriber's sequence numbers and timestamps continuous,
    // and have the sender start a picture the subscriber can decode (once it can receive one).
    this.rebase = true;
    if (this.subscriber.mediaReady) source?.requestKeyframe();
  }

  send(original: RtpPacket["header"], payload: Buffer, tag: number, now: number) {
    if (this.rebase) {
      this.sender.replaceRTP(original, true);
      this.rebase = false;
    }
    this.forwarded++;
    this.subscriber.call.forwarded++;
    this.writer.send(original, payload, tag, now);
  }
}

export class Participant {
  readonly sources = new Map<MediaKind, Source>();
  readonly slots: Slot[] = [];
  readonly paused = new Set<string>();
  pc?: RTCPeerConnection;
  private releaseTcp?: () => void;
  private releasePort?: () => void;
  joinedAt = Date.now();
  negotiated = false;
  /** Its connection is up: media forwarded to it arrives. */
  mediaReady = false;
  /** Said "leave": no longer counted as staying, even before its socket has closed. */
  leaving = false;

  constructor(
    readonly call: Call,
    readonly tag: number,
    readonly id: string,
    readonly grant: JoinGrant,
    readonly signal: SignalPeer,
    readonly send: MediaKind[],
    readonly receive: MediaKind[],
  ) {}

  roster(): RosterEntry {
    return { participantId: this.id, send: this.send, tag: this.tag };
  }

  async negotiate(msg: Extract<ClientMessage, { t: "offer" }>, net: MediaNetwork, certs: CertificatePool): Promise<string> {
    if (this.negotiated) throw new CallingError("bad-offer", "this participant has negotiated already; leave and join again to change media");
    const sendKinds = mediaKinds.filter((k) => msg.send[k] !== undefined);
    for (const k of sendKinds) if (!this.send.includes(k)) throw new CallingError("bad-offer", `offer sends ${k}, which the join did not declare`);
    for (const k of mediaKinds) if (msg.receive[k].length > 0 && !this.receive.includes(k)) throw new CallingError("bad-offer", `offer receives ${k}, which the join did not declare`);
    const mids = new Map<string, { kind: MediaKind; dir: "send" | "receive" }>();
    for (const k of sendKinds) mids.set(msg.send[k]!, { kind: k, dir: "send" });
    for (const k of mediaKinds)
      for (const m of msg.receive[k]) {
        if (mids.has(m)) throw new CallingError("bad-offer", `mid ${m} is listed twice`);
        mids.set(m, { kind: k, dir: "receive" });
      }
    this.negotiated = true;
    const udpPort = net.udpPorts.take();
    this.releasePort = () => net.udpPorts.release(udpPort);
    const pc = await createNodePeer(net, certs, { forceTcp: this.grant.forceTcp, udpPort });
    this.pc = pc;
    // The participant's side connects a moment before ours (DTLS ends with our Finished):
    // tell it when media it sends is really forwarded.
    const ready = pc.connectionStateChange.subscribe((state) => {
      if (state !== "connected") return;
      ready.unSubscribe();
      this.mediaReady = true;
      this.signal.send({ t: "media-ready" });
      // Keyframes asked for while this side was connecting were sent into the void: the pictures
      // in its slots start now (a browser whose decoder waits may never ask again by itself).
      for (const slot of this.slots) slot.source?.requestKeyframe(Date.now(), true);
    });
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    } catch (e) {
      throw new CallingError("bad-offer", `the SDP offer was refused: ${(e as Error).message}`);
    }
    const transceivers = pc.getTransceivers();
    const seen = new Set<string>();
    for (const t of transceivers) {
      const role = t.mid ? mids.get(t.mid) : undefined;
      if (!role) throw new CallingError("bad-offer", `m-line ${t.mid ?? "?"} is neither a declared send track nor a receive slot`);
      const wantKind = role.kind === "audio" ? "audio" : "video";
      if (t.kind !== wantKind) throw new CallingError("bad-offer", `m-line ${t.mid} is ${t.kind}, declared as ${role.kind}`);
      seen.add(t.mid!);
      if (role.dir === "send") {
        const source = new Source(this, role.kind);
        this.sources.set(role.kind, source);
        // werift announces the track during setRemoteDescription, before we get here: take it from the receiver.
        const listen = (track: MediaStreamTrack) => {
          quickenEvent(track.onReceiveRtp);
          track.onReceiveRtp.subscribe((rtp, ext) => source.forward(rtp, ext as Record<string, unknown> | undefined, Date.now()));
          source.sendPli = () => {
            const ssrc = track.ssrc ?? Number(Object.keys(t.receiver.trackBySSRC)[0]);
            if (ssrc) t.receiver.sendRtcpPLI(ssrc).catch(() => {});
          };
        };
        if (t.receiver.tracks.length) t.receiver.tracks.forEach(listen);
        else t.onTrack.subscribe(listen);
      } else {
        t.setDirection("sendonly");
        const slot = new Slot(this, t.mid!, role.kind, t.sender);
        this.slots.push(slot);
        // The subscriber lost pictures (or just started): pass its request on to whoever fills the slot.
        t.sender.onPictureLossIndication.subscribe(() => slot.source?.requestKeyframe());
      }
    }
    for (const m of mids.keys()) if (!seen.has(m)) throw new CallingError("bad-offer", `declared mid ${m} is not in the SDP`);
    this.releaseTcp = attachSharedTcp(pc, net);
    await pc.setLocalDescription(await pc.createAnswer());
    quickenReceivePath(pc);
    const sdp = pc.localDescription!.sdp;
    if (this.grant.forceTcp) return onlyTcpCandidates(sdp);
    // werift carries on without UDP when the port cannot be bound (another program holds it).
    if (!/a=candidate:\S+ 1 udp /.test(sdp)) throw new CallingError("internal", `UDP port ${udpPort} could not be opened; join again`);
    return sdp;
  }

  async close() {
    for (const s of this.slots) s.assign(null);
    for (const src of this.sources.values()) for (const slot of [...src.slots]) slot.assign(null);
    this.releaseTcp?.();
    await this.pc?.close().catch(() => {});
    // Only once werift has closed the socket can the port go to someone else.
    this.releasePort?.();
  }
}

export class Call {
  readonly participants = new Map<string, Participant>();
  readonly startedAt = Date.now();
  forwarded = 0;
  constructor(
    readonly id: string,
    readonly mode: "call" | "broadcast",
  ) {}

  get senders(): number {
    let n = 0;
    for (const p of this.participants.values()) if (p.grant.role === "sender") n++;
    return n;
  }

  broadcast(msg: NodeMessage, except?: Participant) {
    for (const p of this.participants.values()) if (p !== except) p.signal.send(msg);
  }

  /**
   * Decides which source fills each receive slot of every participant. With no more
   * candidates than slots everyone is forwarded; otherwise audio goes to the loudest
   * speakers, video to cameras that are on (speakers first, then join order), screen to the
   * one sharing now (the latest to start, when several do). Browsers negotiate camera and
   * screen m-lines whether or not they send on them, so "has a source" is not "is sharing".
   */
  allocate(now = Date.now()) {
    const all = [...this.participants.values()];
    // Ranked once per kind for the whole call (O(participants)), then filtered per subscriber.
    const ranked = new Map<MediaKind, Source[]>();
    for (const kind of mediaKinds) {
      const sources = all.map((p) => p.sources.get(kind)).filter((s): s is Source => !!s);
      if (kind === "audio") sources.sort((a, b) => Number(b.speaking(now)) - Number(a.speaking(now)) || a.level - b.level);
      else if (kind === "video")
        sources.sort(
          (a, b) =>
            Number(b.sending(now)) - Number(a.sending(now)) ||
            Number(!!b.owner.sources.get("audio")?.speaking(now)) - Number(!!a.owner.sources.get("audio")?.speaking(now)) ||
            a.owner.joinedAt - b.owner.joinedAt,
        );
      else sources.sort((a, b) => Number(b.sending(now)) - Number(a.sending(now)) || b.activeSince - a.activeSince || b.owner.joinedAt - a.owner.joinedAt);
      ranked.set(kind, sources);
    }
    for (const sub of all) {
      let changed = false;
      for (const kind of mediaKinds) {
        const slots = sub.slots.filter((s) => s.kind === kind);
        if (slots.length === 0) continue;
        const list = ranked.get(kind)!;
        const eligible = (s: Source) => s.owner !== sub && !sub.paused.has(s.key);
        // Runs every 250 ms for every subscriber: look only as far into the ranking as needed.
        let count = 0;
        for (const s of list) if (eligible(s) && ++count > slots.length) break;
        const crowded = count > slots.length;
        const candidates: Source[] = [];
        for (const s of list) {
          if (candidates.length === slots.length) break;
          if (!eligible(s)) continue;
          // More sources than slots: audio only for those speaking (ranked first), then the first in rank.
          if (crowded && kind === "audio" && !s.speaking(now)) break;
          candidates.push(s);
        }
        const chosen = new Set(candidates);
        // Sources already in a slot stay where they are (no flicker); the rest fill free slots.
        for (const s of slots) if (s.source && !chosen.has(s.source)) (s.assign(null), (changed = true));
        const placed = new Set(slots.map((s) => s.source).filter((s): s is Source => !!s));
        for (const c of candidates) {
          if (placed.has(c)) continue;
          const free = slots.find((s) => !s.source);
          if (!free) break;
          free.assign(c);
          changed = true;
        }
      }
      if (changed) sub.signal.send({ t: "slots", slots: slotMap(sub) });
    }
  }
}

export function slotMap(p: Participant): SlotAssignment[] {
  return p.slots.map((s) => ({ mid: s.mid, kind: s.kind, participantId: s.source?.owner.id ?? null }));
}

/** All calls of this node and the rules of entering and leaving them. */
export class Sfu {
  readonly calls = new Map<string, Call>();
  private timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly net: MediaNetwork,
    private readonly certs: CertificatePool,
    private readonly log: Logger,
  ) {
    installRtpFastPath();
    // Speakers change without any signalling: re-decide slots a few times a second.
    this.timer = setInterval(() => {
      for (const c of this.calls.values()) c.allocate();
    }, 250);
  }

  join(grant: JoinGrant, signal: SignalPeer, send: MediaKind[], receive: MediaKind[]): Participant {
    for (const k of [...send, ...receive]) {
      if (!grant.kinds[k]) throw new CallingError("kind-not-allowed", `${k} is not allowed for this participant (security group or call type)`);
    }
    if (grant.role === "listener" && send.length > 0) throw new CallingError("kind-not-allowed", "a broadcast listener does not send media");
    let call = this.calls.get(grant.callId);
    if (call && call.mode !== grant.mode) throw new CallingError("mode-mismatch", `call ${grant.callId} is a ${call.mode}, the grant says ${grant.mode}`);
    const limit = grant.mode === "broadcast" ? callLimits.broadcastParticipants : callLimits.callParticipants;
    const existing = call?.participants.get(grant.participantId);
    const count = (call?.participants.size ?? 0) - (existing ? 1 : 0);
    if (count >= limit) throw new CallingError("call-full", `the ${grant.mode} is full (${limit} participants)`);
    if (grant.mode === "broadcast" && grant.role === "sender" && (call?.senders ?? 0) - (existing?.grant.role === "sender" ? 1 : 0) >= callLimits.broadcastSenders) {
      throw new CallingError("senders-full", `a broadcast has at most ${callLimits.broadcastSenders} senders`);
    }
    if (grant.mode === "call" && grant.role !== "sender") throw new CallingError("mode-mismatch", "listeners exist only in broadcasts");
    if (!call) {
      call = new Call(grant.callId, grant.mode);
      this.calls.set(call.id, call);
      this.log.info({ callId: call.id, mode: call.mode }, "call started on this node");
    }
    if (existing) {
      // The same participant joining again (a reconnect) replaces the old session.
      existing.signal.send({ t: "ended", reason: "replaced" });
      existing.signal.close(1000, "replaced by a new session");
      call.participants.delete(existing.id);
      void existing.close();
    }
    const tags = new Set([...call.participants.values()].map((o) => o.tag));
    let tag: number;
    do tag = randomBytes(4).readUInt32BE();
    while (tags.has(tag));
    const p = new Participant(call, tag, grant.participantId, grant, signal, send, receive);
    call.broadcast({ t: "participant-joined", participant: p.roster() });
    call.participants.set(p.id, p);
    return p;
  }

  async negotiate(p: Participant, msg: Extract<ClientMessage, { t: "offer" }>): Promise<string> {
    const sdp = await p.negotiate(msg, this.net, this.certs);
    if (this.calls.get(p.call.id)?.participants.get(p.id) === p) p.call.allocate();
    return sdp;
  }

  setPaused(p: Participant, participantId: string, kind: MediaKind, paused: boolean) {
    if (!p.call.participants.has(participantId)) throw new CallingError("unknown-participant", `no participant ${participantId} in this call`);
    const key = `${participantId}:${kind}`;
    if (paused) p.paused.add(key);
    else p.paused.delete(key);
    p.call.allocate();
  }

  async leave(p: Participant) {
    const call = p.call;
    if (call.participants.get(p.id) !== p) return;
    call.participants.delete(p.id);
    await p.close();
    call.broadcast({ t: "participant-left", participantId: p.id });
    call.allocate();
    if (call.participants.size === 0 && this.calls.get(call.id) === call) {
      this.calls.delete(call.id);
      this.log.info({ callId: call.id, durationSeconds: Math.round((Date.now() - call.startedAt) / 1000) }, "call ended on this node");
    }
  }

  async endCall(callId: string): Promise<boolean> {
    const call = this.calls.get(callId);
    if (!call) return false;
    // Everyone hears "ended" before anyone hears of another leaving (a participant-left
    // first would make the next in line take over the call key as if the call went on).
    const everyone = [...call.participants.values()];
    for (const p of everyone) {
      p.leaving = true;
      p.signal.send({ t: "ended", reason: "call-ended" });
    }
    for (const p of everyone) {
      p.signal.close(1000, "call ended");
      await this.leave(p);
    }
    return true;
  }

  stats() {
    let participants = 0;
    const calls = [...this.calls.values()].map((c) => {
      participants += c.participants.size;
      return {
        callId: c.id,
        mode: c.mode,
        startedAt: new Date(c.startedAt).toISOString(),
        forwardedPackets: c.forwarded,
        participants: [...c.participants.values()].map((p) => ({
          participantId: p.id,
          role: p.grant.role,
          send: p.send,
          forceTcp: p.grant.forceTcp,
          connection: p.pc?.connectionState ?? "new",
          packetsIn: [...p.sources.values()].reduce((n, s) => n + s.packetsIn, 0),
          packetsDropped: [...p.sources.values()].reduce((n, s) => n + s.dropped, 0),
          packetsOut: p.slots.reduce((n, s) => n + s.forwarded, 0),
        })),
      };
    });
    return { calls, totals: { calls: calls.length, participants } };
  }

  async close() {
    clearInterval(this.timer);
    for (const id of [...this.calls.keys()]) await this.endCall(id);
  }
}

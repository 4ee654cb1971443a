// The calling node: one Bun.serve for the authenticated control channel (join grants,
// stats, ending calls) and the participants' signalling WebSocket, the shared ICE-TCP
// port, and the SFU. Started by `outpost calling-node` or in-process by tests.
import { randomBytes } from "node:crypto";
import type { Server, ServerWebSocket } from "bun";
import type { Logger } from "../log/logger.ts";
import { CertificatePool, UdpPortPool } from "./node-peer.ts";
import { bearer, secretMatches } from "./secret.ts";
import { CallingError, Sfu, type Participant } from "./sfu.ts";
import { callLimits, joinGrantSchema, parseClientMessage, type JoinGrant, type NodeMessage } from "./signalling.ts";
import { SharedTcpPort } from "./tcp-mux.ts";

export interface CallingNodeOptions {
  secret: string;
  /** Address for media (UDP, ICE-TCP) and for the control/signalling server. */
  address: string;
  controlPort: number;
  tcpPort: number;
  udpPortMin: number;
  udpPortMax: number;
  log: Logger;
}

export interface CallingNode {
  controlPort: number;
  tcpPort: number;
  url: string;
  sfu: Sfu;
  stop(): Promise<void>;
}

/** Signalling flood control: a token bucket per connection. */
const RATE = { perSecond: 20, burst: 40, closeAfterDropped: 200, closeAfterMalformed: 20, joinWithinMs: 10_000 };
const GRANTS_MAX = 100_000;

interface SocketState {
  participant?: Participant;
  joining: boolean;
  tokens: number;
  refilledAt: number;
  dropped: number;
  malformed: number;
  lastRateError: number;
  joinTimer?: ReturnType<typeof setTimeout>;
  queue: Promise<void>;
}

export async function startCallingNode(opts: CallingNodeOptions): Promise<CallingNode> {
  const log = opts.log;
  const tcp = new SharedTcpPort((reason) => log.debug({ reason }, "ICE-TCP connection refused"));
  const tcpPort = await tcp.listen(opts.address, opts.tcpPort);
  const certs = new CertificatePool();
  void certs.fill();
  const net = { address: opts.address, udpPorts: new UdpPortPool(opts.udpPortMin, opts.udpPortMax), tcp, tcpPort };
  const sfu = new Sfu(net, certs, log);
  const grants = new Map<string, { grant: JoinGrant; expiresAt: number }>();

  const authorized = (req: Request) => secretMatches(bearer(req.headers.get("authorization")), opts.secret);
  const json = (body: unknown, status = 200) => Response.json(body, { status });
  const problem = (status: number, code: string, message: string) => json({ error: { code, message } }, status);

  function issueGrant(grant: JoinGrant) {
    const now = Date.now();
    if (grants.size >= GRANTS_MAX) for (const [k, v] of grants) if (v.expiresAt <= now) grants.delete(k);
    if (grants.size >= GRANTS_MAX) throw new CallingError("internal", "too many outstanding join tokens");
    const token = randomBytes(24).toString("base64url");
    const expiresAt = now + grant.ttlSeconds * 1000;
    grants.set(token, { grant, expiresAt });
    return { token, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** Single use: a token is gone once presented, valid or not. */
  function redeem(token: string): JoinGrant | null {
    const g = grants.get(token);
    grants.delete(token);
    if (!g || g.expiresAt <= Date.now()) return null;
    return g.grant;
  }

  function send(ws: ServerWebSocket<SocketState>, msg: NodeMessage) {
    // 0 means Bun dropped the frame (the client is not reading): such a client cannot follow the call.
    if (ws.readyState === 1 && ws.send(JSON.stringify(msg)) === 0) ws.close(1008, "not reading signalling");
  }

  function fail(ws: ServerWebSocket<SocketState>, e: unknown, fatal = false) {
    const err = e instanceof CallingError ? e : new CallingError("internal", "the node could not handle that message");
    if (!(e instanceof CallingError)) log.warn({ err: (e as Error).message }, "signalling handler failed");
    send(ws, { t: "error", code: err.code, message: err.message, fatal });
    if (fatal) ws.close(1008, err.code);
  }

  async function handle(ws: ServerWebSocket<SocketState>, raw: string | Buffer) {
    const st = ws.data;
    const parsed = parseClientMessage(typeof raw === "string" ? raw : new Uint8Array(raw));
    if (!parsed.ok) {
      st.malformed++;
      if (st.malformed >= RATE.closeAfterMalformed) return fail(ws, new CallingError("malformed", "too many malformed messages"), true);
      return fail(ws, new CallingError("malformed", parsed.problem));
    }
    const msg = parsed.msg;
    if (msg.t === "ping") return send(ws, { t: "pong", n: msg.n });
    if (msg.t === "join") {
      if (st.participant || st.joining) return fail(ws, new CallingError("already-joined", "this connection has joined already"));
      const grant = redeem(msg.token);
      if (!grant) return fail(ws, new CallingError("bad-token", "unknown, used or expired join token"), true);
      try {
        const p = sfu.join(grant, { send: (m) => send(ws, m), close: (c, r) => ws.close(c, r) }, msg.send, msg.receive);
        st.participant = p;
        clearTimeout(st.joinTimer);
        const c = p.call;
        send(ws, {
          t: "joined",
          callId: c.id,
          participantId: p.id,
          mode: c.mode,
          role: p.grant.role,
          forceTcp: p.grant.forceTcp,
          participants: [...c.participants.values()].filter((o) => o !== p).map((o) => o.roster()),
        });
      } catch (e) {
        fail(ws, e, true);
      }
      return;
    }
    const p = st.participant;
    if (!p) return fail(ws, new CallingError("not-joined", "join first"));
    switch (msg.t) {
      case "offer":
        try {
          send(ws, { t: "answer", sdp: await sfu.negotiate(p, msg) });
        } catch (e) {
          // A refused offer leaves a half-made peer connection: the participant has to join again.
          fail(ws, e, true);
        }
        return;
      case "ice":
        if (!p.pc) return fail(ws, new CallingError("not-joined", "send the offer first"));
        try {
          await p.pc.addIceCandidate(msg.candidate);
        } catch (e) {
          fail(ws, new CallingError("malformed", `ICE candidate refused: ${(e as Error).message}`));
        }
        return;
      case "pause":
      case "resume":
        try {
          sfu.setPaused(p, msg.participantId, msg.kind, msg.t === "pause");
        } catch (e) {
          fail(ws, e);
        }
        return;
      case "leave": {
        // Leaves are handled one at a time, so exactly one leaver hears "remaining: 0" and
        // knows it is the last one out (it writes the call's end message).
        p.leaving = true;
        const remaining = [...p.call.participants.values()].filter((o) => o !== p && !o.leaving).length;
        send(ws, { t: "ended", reason: "left", remaining });
        ws.close(1000, "left");
        return;
      }
    }
  }

  function allowed(st: SocketState): boolean {
    const now = performance.now();
    st.tokens = Math.min(RATE.burst, st.tokens + ((now - st.refilledAt) / 1000) * RATE.perSecond);
    st.refilledAt = now;
    if (st.tokens < 1) return false;
    st.tokens -= 1;
    return true;
  }

  const server: Server<SocketState> = Bun.serve<SocketState>({
    hostname: opts.address,
    port: opts.controlPort,
    development: false,
    maxRequestBodySize: 64 * 1024,
    async fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === "/signal") {
        const ok = srv.upgrade(req, { data: { joining: false, tokens: RATE.burst, refilledAt: performance.now(), dropped: 0, malformed: 0, lastRateError: 0, queue: Promise.resolve() } });
        return ok ? undefined : problem(400, "malformed", "expected a WebSocket upgrade");
      }
      if (!url.pathname.startsWith("/control/")) return problem(404, "not-found", "no such path");
      if (!authorized(req)) return problem(401, "unauthorized", "missing or wrong node secret");
      if (req.method === "GET" && url.pathname === "/control/health") {
        const s = sfu.stats();
        return json({ ok: true, calls: s.totals.calls, participants: s.totals.participants, tcpPort });
      }
      if (req.method === "GET" && url.pathname === "/control/stats") return json({ ...sfu.stats(), tcp: { ...tcp.stats, registered: tcp.registered }, udpPortsInUse: net.udpPorts.used });
      if (req.method === "POST" && url.pathname === "/control/join-grants") {
        let body: unknown;
        try {
          body = await req.json();
        } catch {
          return problem(400, "malformed", "body is not JSON");
        }
        const r = joinGrantSchema.safeParse(body);
        if (!r.success) {
          const i = r.error.issues[0]!;
          return problem(400, "validation", `${i.path.join(".") || "body"}: ${i.message}`);
        }
        try {
          return json(issueGrant(r.data), 201);
        } catch (e) {
          return problem(503, "busy", (e as Error).message);
        }
      }
      const end = /^\/control\/calls\/([^/]+)\/end$/.exec(url.pathname);
      if (req.method === "POST" && end) {
        return (await sfu.endCall(decodeURIComponent(end[1]!))) ? json({ ended: true }) : problem(404, "not-found", "no such call on this node");
      }
      return problem(404, "not-found", "no such control path");
    },
    websocket: {
      maxPayloadLength: callLimits.maxFrameBytes,
      idleTimeout: 60,
      backpressureLimit: 1024 * 1024,
      open(ws) {
        ws.data.joinTimer = setTimeout(() => {
          if (!ws.data.participant) ws.close(1008, "join within 10 s");
        }, RATE.joinWithinMs);
      },
      message(ws, raw) {
        const st = ws.data;
        if (!allowed(st)) {
          st.dropped++;
          if (st.dropped >= RATE.closeAfterDropped) return ws.close(1008, "signalling flood");
          const now = Date.now();
          if (now - st.lastRateError > 1000) {
            st.lastRateError = now;
            send(ws, { t: "error", code: "rate-limited", message: `more than ${RATE.perSecond} messages/s; messages dropped`, fatal: false });
          }
          return;
        }
        // One message at a time per connection, in order (an offer must finish before its ICE).
        st.queue = st.queue.then(() => handle(ws, raw)).catch((e) => log.warn({ err: (e as Error).message }, "signalling message failed"));
      },
      close(ws) {
        clearTimeout(ws.data.joinTimer);
        const p = ws.data.participant;
        if (p) void ws.data.queue.then(() => sfu.leave(p));
      },
    },
  });

  const controlPort = server.port!;
  log.info({ address: opts.address, controlPort, tcpPort, udp: `${opts.udpPortMin}-${opts.udpPortMax}` }, "calling node ready");
  return {
    controlPort,
    tcpPort,
    url: `http://${opts.address.includes(":") ? `[${opts.address}]` : opts.address}:${controlPort}`,
    sfu,
    async stop() {
      await sfu.close();
      server.stop(true);
      await tcp.close();
    },
  };
}

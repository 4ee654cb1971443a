// The messaging server's side of the calling node: spawns `outpost calling-node` and
// restarts it with backoff when it dies (or points at a node on another host), talks
// to it over the authenticated control channel, and reports it in /readyz.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { AppContext } from "../app/context.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import { ensureCallingSecret } from "./secret.ts";
import type { JoinGrantInput } from "./signalling.ts";

export const READY_MARKER = "OUTPOST-CALLING-NODE-READY ";

export interface NodeStats {
  calls: { callId: string; mode: string; startedAt: string; forwardedPackets: number; participants: { participantId: string; role: string; send: string[]; forceTcp: boolean; connection: string; packetsIn: number; packetsDropped: number; packetsOut: number }[] }[];
  totals: { calls: number; participants: number };
}

/** The control channel, seen from the messaging server. */
export class CallingNodeClient {
  constructor(
    private readonly baseUrl: () => string | undefined,
    private readonly secret: string,
  ) {}

  get url(): string | undefined {
    return this.baseUrl();
  }

  private async call<T>(path: string, init: RequestInit = {}, timeoutMs = 2000): Promise<T> {
    const base = this.baseUrl();
    if (!base) throw new Error("calling node not running");
    const r = await fetch(base + path, {
      ...init,
      headers: { authorization: `Bearer ${this.secret}`, "content-type": "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!r.ok) throw new Error(`calling node answered ${r.status} to ${path}`);
    return (await r.json()) as T;
  }

  health() {
    return this.call<{ ok: boolean; calls: number; participants: number; tcpPort: number }>("/control/health", {}, 1000);
  }

  stats() {
    return this.call<NodeStats>("/control/stats");
  }

  /** A single-use join token for one participant of one call (what the relay hands the client). */
  issueJoinToken(grant: JoinGrantInput) {
    return this.call<{ token: string; expiresAt: string }>("/control/join-grants", { method: "POST", body: JSON.stringify(grant) });
  }

  endCall(callId: string) {
    return this.call<{ ended: boolean }>(`/control/calls/${encodeURIComponent(callId)}/end`, { method: "POST" });
  }

  /** Where participants reach the node's signalling (until the relay carries it). */
  signallingUrl(): string | undefined {
    return this.baseUrl()?.replace(/^http/, "ws") + "/signal";
  }
}

type State = "starting" | "running" | "backoff" | "stopped";

/** Runs the node as a child process of `outpost serve` and brings it back when it dies. */
export class CallingNodeSupervisor {
  state: State = "stopped";
  url?: string;
  pid?: number;
  restarts = 0;
  private proc?: Bun.Subprocess<"pipe", "pipe", "pipe">;
  private stopping = false;
  private failures = 0;
  private controlPort: number;
  private tcpPort: number;
  private timer?: ReturnType<typeof setTimeout>;
  private readyWaiters: (() => void)[] = [];

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.controlPort = config.callingControlPort;
    this.tcpPort = config.callingTcpPort;
  }

  private command(): string[] {
    // Inside the compiled binary the entry point is the binary itself (whose modules live
    // under /$bunfs, while import.meta.url still names the source path); from source it is
    // src/main.ts beside this folder.
    const compiled = Bun.main.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(Bun.main);
    const main = fileURLToPath(new URL("../main.ts", import.meta.url));
    const base = compiled || !existsSync(main) ? [process.execPath] : [process.execPath, main];
    const c = this.config;
    return [
      ...base,
      "calling-node",
      "--supervised",
      ...["--data-dir", c.dataDir, "--calling-address", c.callingAddress, "--log-level", c.logLevel],
      ...["--calling-control-port", String(this.controlPort), "--calling-tcp-port", String(this.tcpPort)],
      ...["--calling-udp-port-min", String(c.callingUdpPortMin), "--calling-udp-port-max", String(c.callingUdpPortMax)],
    ];
  }

  start(): void {
    if (this.stopping) return;
    this.state = this.restarts === 0 && this.failures === 0 ? "starting" : "backoff";
    const proc = Bun.spawn(this.command(), { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: process.env });
    this.proc = proc;
    this.pid = proc.pid;
    const startedAt = Date.now();
    void this.readLines(proc.stdout, (line) => {
      if (line.startsWith(READY_MARKER)) {
        const r = JSON.parse(line.slice(READY_MARKER.length)) as { url: string; controlPort: number; tcpPort: number };
        // The same ports after a restart: clients and firewall rules keep working.
        this.controlPort = r.controlPort;
        this.tcpPort = r.tcpPort;
        this.url = r.url;
        this.state = "running";
        this.log.info({ pid: proc.pid, url: r.url, tcpPort: r.tcpPort, restarts: this.restarts }, "calling node running");
        for (const w of this.readyWaiters.splice(0)) w();
      } else this.relay(line);
    });
    void this.readLines(proc.stderr, (line) => this.relay(line));
    void proc.exited.then((code) => {
      if (this.proc !== proc) return;
      this.url = undefined;
      this.pid = undefined;
      if (this.stopping) {
        this.state = "stopped";
        return;
      }
      // A node that ran a while starts the backoff again from the bottom.
      this.failures = Date.now() - startedAt > 30_000 ? 1 : this.failures + 1;
      const delay = Math.min(30_000, 250 * 2 ** (this.failures - 1));
      this.state = "backoff";
      this.restarts++;
      this.log.error({ code, restartInMs: delay, restarts: this.restarts }, "calling node exited; restarting");
      this.timer = setTimeout(() => this.start(), delay);
    });
  }

  private relay(line: string) {
    // The node logs JSON lines of its own; anything it says at warn or above is repeated here.
    try {
      const j = JSON.parse(line) as { level?: number; msg?: string };
      if ((j.level ?? 0) >= 40) this.log.warn({ callingNode: j }, j.msg ?? "calling node");
    } catch {
      if (line.trim()) this.log.warn({ callingNode: line.slice(0, 500) }, "calling node output");
    }
  }

  private async readLines(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void) {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of stream) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
    } catch {
      /* the child went away */
    }
  }

  /** Resolves when a node is (again) running. */
  ready(timeoutMs = 15_000): Promise<void> {
    if (this.state === "running") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("calling node not ready in time")), timeoutMs);
      this.readyWaiters.push(() => (clearTimeout(t), resolve()));
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) {
      this.state = "stopped";
      return;
    }
    proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
    if (!exited) proc.kill("SIGKILL");
    await proc.exited;
    this.state = "stopped";
  }
}

export interface CallingService {
  client: CallingNodeClient;
  supervisor?: CallingNodeSupervisor;
  stop(): Promise<void>;
}

const services = new WeakMap<AppContext, CallingService>();

/** The calling service of a running server (undefined when calling is off). */
export function callingService(ctx: AppContext): CallingService | undefined {
  return services.get(ctx);
}

/** Called once by the composition root: starts or finds the node and adds the "calling" readiness check. */
export function startCalling(ctx: AppContext): CallingService | undefined {
  const c = ctx.config;
  if (c.callingMode === "off") return undefined;
  const secret = ensureCallingSecret(c.dataDir);
  const log = ctx.log.logger.child({ component: "calling" });
  let supervisor: CallingNodeSupervisor | undefined;
  let client: CallingNodeClient;
  if (c.callingMode === "external") {
    const url = c.callingNodeUrl!.replace(/\/$/, "");
    client = new CallingNodeClient(() => url, secret);
  } else {
    const s = new CallingNodeSupervisor(c, log);
    supervisor = s;
    client = new CallingNodeClient(() => s.url, secret);
    s.start();
  }
  ctx.readiness.set("calling", async () => {
    try {
      const h = await client.health();
      return { ok: h.ok, detail: `${h.calls} call(s), ${h.participants} participant(s)` };
    } catch (e) {
      return { ok: false, detail: supervisor ? `calling node ${supervisor.state}` : `calling node unreachable: ${(e as Error).message}` };
    }
  });
  const service: CallingService = { client, supervisor, stop: async () => supervisor?.stop() };
  services.set(ctx, service);
  return service;
}

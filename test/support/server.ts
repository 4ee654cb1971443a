// Starting real Outpost servers for tests: in-process on a free loopback port
// with a fresh data directory, or as a separate process (for signals and SIGKILL).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { startServer, type RunningServer } from "../../src/app/server.ts";
import { createLogger } from "../../src/log/logger.ts";

export function tempDir(prefix = "outpost-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestServer extends RunningServer {
  dataDir: string;
  /** Stops the server and removes its data directory. */
  close(): Promise<void>;
  /**
   * Stops the server and keeps its data (clients see it go away, as after a power cut of the
   * box), then `restart()` starts it again on the same port and data directory.
   */
  halt(): Promise<void>;
  /** Starts a halted server again (same URL and data); `ctx` and `server` then point to the new one. */
  restart(): Promise<void>;
}

/** A real server in this process, on 127.0.0.1 and a free port, logging only to its in-memory ring. */
export async function startTestServer(overrides: Partial<Config> = {}, opts: { keepData?: boolean } = {}): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? tempDir();
  // No calling node unless a test asks for one (callingMode: "spawn"): it is a process of its own.
  const configFor = (port: number) => loadConfig({ flags: { host: "127.0.0.1", groupCommitDelayMs: 1, callingMode: "off", ...overrides, port, dataDir }, env: {} }).config;
  const boot = (config: Config) => startServer(config, { log: createLogger({ level: config.logLevel === "info" ? "debug" : config.logLevel, eventLogging: config.eventLogging, stdout: false }) });
  let running = await boot(configFor(overrides.port ?? 0));
  const port = running.server.port!;
  let halted = false;
  const handle: TestServer = Object.assign(running, {
    dataDir,
    async close() {
      if (!halted) await running.stop({ graceMs: 1000 });
      halted = true;
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
    async halt() {
      if (halted) return;
      halted = true;
      await running.stop({ graceMs: 200 });
    },
    async restart() {
      if (!halted) throw new Error("halt() the server before restarting it");
      running = await boot(configFor(port));
      halted = false;
      Object.assign(handle, { ctx: running.ctx, server: running.server, firstAdminPassword: running.firstAdminPassword, stop: running.stop });
    },
  });
  return handle;
}

export interface SpawnedServer {
  url: string;
  dataDir: string;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
  firstAdminPassword(): string | null;
  /** Sends a signal and waits for the exit code. */
  signal(sig: NodeJS.Signals): Promise<number | null>;
}

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `outpost serve` as its own process (source by default, or a built binary). */
export async function spawnServer(opts: { dataDir?: string; binary?: string; args?: string[]; env?: Record<string, string>; port?: number } = {}): Promise<SpawnedServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const port = opts.port ?? (await freePort());
  const cmd = opts.binary ? [opts.binary, "serve"] : [process.execPath, join(repoRoot, "src", "main.ts"), "serve"];
  const args = opts.args ?? [];
  const calling = args.some((a) => a.startsWith("--calling-mode")) ? [] : ["--calling-mode", "off"];
  const proc = Bun.spawn([...cmd, "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, ...calling, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...(opts.env ?? {}) },
  });
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) out += dec.decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const tls = (opts.args ?? []).some((a) => a === "--tls" || a.startsWith("--tls="));
  const url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${out}`);
    try {
      // The test trusts whatever certificate the server made; pinning is tested with the cert itself.
      const r = await fetch(`${url}/readyz`, tls ? ({ tls: { rejectUnauthorized: false } } as RequestInit) : {});
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server not ready in 15 s:\n${out}`);
    }
    await Bun.sleep(25);
  }
  return {
    url,
    dataDir,
    proc,
    output: () => out,
    firstAdminPassword: () => /One-time password: (\S+)/.exec(out)?.[1] ?? null,
    async signal(sig) {
      proc.kill(sig);
      return proc.exited;
    },
  };
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

// `outpost calling-node`: the node as a process. Prints one ready line for its
// supervisor, stops on SIGTERM/SIGINT, and (when supervised) when its parent goes away.
import type { Config } from "../config/schema.ts";
import { createLogger } from "../log/logger.ts";
import { startCallingNode } from "./node.ts";
import { ensureCallingSecret } from "./secret.ts";
import { READY_MARKER } from "./supervisor.ts";

export async function runCallingNode(cfg: Config, opts: { supervised: boolean }): Promise<number> {
  const { logger } = createLogger({ level: cfg.logLevel, eventLogging: cfg.eventLogging });
  const log = logger.child({ component: "calling-node" });
  // werift raises some errors from timers and socket callbacks: a bad packet must cost that packet, not the node.
  process.on("uncaughtException", (e) => log.error({ err: e.message }, "uncaught error in the calling node (kept running)"));
  process.on("unhandledRejection", (e) => log.error({ err: (e as Error)?.message ?? String(e) }, "unhandled rejection in the calling node (kept running)"));
  const node = await startCallingNode({
    secret: ensureCallingSecret(cfg.dataDir),
    address: cfg.callingAddress,
    controlPort: cfg.callingControlPort,
    tcpPort: cfg.callingTcpPort,
    udpPortMin: cfg.callingUdpPortMin,
    udpPortMax: cfg.callingUdpPortMax,
    log,
  });
  process.stdout.write(READY_MARKER + JSON.stringify({ url: node.url, controlPort: node.controlPort, tcpPort: node.tcpPort }) + "\n");
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, "calling node stopping");
    void Promise.race([node.stop(), Bun.sleep(2000)]).then(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  if (opts.supervised) {
    // Our stdin is a pipe from serve: it ends when serve ends, even by SIGKILL.
    void (async () => {
      try {
        for await (const _ of Bun.stdin.stream()) {
          /* serve never writes; we only wait for the end */
        }
      } catch {
        /* closed */
      }
      stop("supervisor gone");
    })();
  }
  return new Promise<number>(() => {});
}

// The composition root of `outpost serve`: config → storage → migrations →
// logger → services → HTTP app → Bun.serve, and the orderly way down again.
import type { Server } from "bun";
import type { Config } from "../config/schema.ts";
import { openStorage, sqliteHasWalResetFix } from "../db/client.ts";
import { GroupCommitWriter } from "../db/group-commit.ts";
import { applyMigrations } from "../db/migrate.ts";
import { createHttpApp } from "../http/app.ts";
import { createLogger, type LogSetup } from "../log/logger.ts";
import { startCalling } from "../calling/supervisor.ts";
import { complianceSupervisor } from "../compliance/supervisor.ts";
import { ensureFirstAdmin } from "../modules/admins/admins.service.ts";
import { ensureBuiltInRole } from "../modules/access/roles.service.ts";
import { relayWebSocketHandler, startRelay } from "../relay/gateway.ts";
import { startFileSweeper } from "../modules/files/files.service.ts";
import type { TlsMaterial } from "../tls/certificate.ts";
import { version } from "../version.ts";
import type { AppContext } from "./context.ts";

export interface RunningServer {
  ctx: AppContext;
  server: Server<unknown>;
  url: string;
  /** Printed once on first start, null afterwards. */
  firstAdminPassword: string | null;
  stop(opts?: { graceMs?: number }): Promise<void>;
}

export function openContext(config: Config, log?: LogSetup): AppContext {
  const logSetup = log ?? createLogger({ level: config.logLevel, eventLogging: config.eventLogging });
  const storage = openStorage(config.dataDir, { readConnections: config.readConnections });
  const writer = new GroupCommitWriter(storage.writerConn, { delayMs: config.groupCommitDelayMs, maxBatch: config.groupCommitMaxBatch });
  return { config, log: logSetup, storage, writer, readiness: new Map(), startedAt: Date.now(), version };
}

export async function startServer(config: Config, opts: { log?: LogSetup } = {}): Promise<RunningServer> {
  const ctx = openContext(config, opts.log);
  const logger = ctx.log.logger;
  logger.info({ sqlite: ctx.storage.sqliteVersion, db: ctx.storage.path }, "storage opened");
  if (!sqliteHasWalResetFix(ctx.storage.sqliteVersion)) {
    logger.warn({ sqlite: ctx.storage.sqliteVersion }, "this SQLite predates 3.51.3 (WAL-reset fix); Outpost keeps one writer connection and no external checkpointer to stay clear of it");
  }
  const migrated = applyMigrations(ctx.storage);
  logger.info(migrated, "migrations applied");

  let tls: TlsMaterial | undefined;
  // The certificate code (x509 + reflect-metadata) is loaded only when TLS is on: it costs start-up time.
  if (config.tls === "auto") {
    const { ensureAutoCertificate } = await import("../tls/certificate.ts");
    const auto = await ensureAutoCertificate(config.dataDir, config.host);
    tls = auto;
    logger.info({ fingerprint: auto.fingerprint, created: auto.created }, "TLS certificate (self-signed; pin this SHA-256 fingerprint in client configurations)");
  } else if (config.tls === "files") {
    const { loadCertificateFiles } = await import("../tls/certificate.ts");
    tls = await loadCertificateFiles(config.tlsCert!, config.tlsKey!);
    logger.info({ fingerprint: tls.fingerprint }, "TLS certificate loaded");
  } else {
    logger.warn("serving plain HTTP: fine for local development, use tls=auto or tls=files anywhere else");
  }
  if (tls) ctx.tlsFingerprint = tls.fingerprint;

  await ensureBuiltInRole(ctx);
  const firstAdminPassword = await ensureFirstAdmin(ctx);
  const calling = startCalling(ctx);
  const app = createHttpApp(ctx);
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    fetch: app.fetch,
    websocket: relayWebSocketHandler,
    ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
    // Large uploads are streamed by the routes that take them; JSON bodies are limited per route.
    maxRequestBodySize: 1024 * 1024 * 1024,
    development: false,
  });
  const url = `${tls ? "https" : "http"}://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}`;
  const relay = startRelay(ctx);
  const fileSweeper = startFileSweeper(ctx);
  ctx.selfUrl = url;
  await complianceSupervisor(ctx).startAll();
  logger.info({ url, version }, "Outpost is ready");

  let stopping: Promise<void> | null = null;
  return {
    ctx,
    server,
    url,
    firstAdminPassword,
    stop(stopOpts = {}) {
      stopping ??= (async () => {
        logger.info("shutting down: no new connections, draining requests");
        // Compliance bots first: they acknowledge only what they wrote, and close cleanly.
        await complianceSupervisor(ctx).stopAll();
        relay.stop();
        fileSweeper.stop();
        const grace = stopOpts.graceMs ?? config.shutdownGraceMs;
        // Stop accepting; let in-flight requests finish within the grace period.
        await Promise.race([server.stop(false), Bun.sleep(grace)]);
        server.stop(true);
        await calling?.stop();
        await ctx.writer.drain();
        ctx.writer.close();
        ctx.storage.close();
        logger.info("stopped cleanly");
      })();
      return stopping;
    },
  };
}

// Every setting Outpost reads, in one schema. Flags, environment (OUTPOST_*),
// the data directory's outpost.toml/.json and these defaults all feed it.
import * as z from "zod";

export const eventLoggingLevels = ["activity", "ip", "messaging", "userid"] as const;
export type EventLogging = (typeof eventLoggingLevels)[number];

const port = z.number().int().min(0).max(65535);

export const configSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1").describe("address the HTTP/WebSocket server listens on"),
    port: port.default(8080).describe("TCP port of the HTTP/WebSocket server (0 picks a free one)"),
    dataDir: z.string().min(1).default("./data").describe("folder holding the database, blobs, compliance output and TLS files"),
    publicUrl: z.url().optional().describe("URL clients use to reach this server (defaults to the listen address)"),
    tls: z.enum(["off", "auto", "files"]).default("off").describe("off: plain HTTP; auto: self-signed certificate kept in <dataDir>/tls; files: tlsCert/tlsKey"),
    tlsCert: z.string().min(1).optional().describe("PEM certificate chain file (tls=files)"),
    tlsKey: z.string().min(1).optional().describe("PEM private key file (tls=files)"),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info").describe("minimum level written to the log"),
    eventLogging: z.enum(eventLoggingLevels).default("activity").describe("event-logging verbosity: activity, ip, messaging or userid (message contents are never logged)"),
    bodyLimitBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024).describe("largest JSON request body accepted"),
    groupCommitDelayMs: z.number().min(0).max(50).default(2).describe("how long the writer waits to gather a batch before committing"),
    groupCommitMaxBatch: z.number().int().min(1).max(100_000).default(2000).describe("most writes committed in one transaction"),
    readConnections: z.number().int().min(1).max(16).default(2).describe("read-only SQLite connections"),
    shutdownGraceMs: z.number().int().min(0).max(120_000).default(10_000).describe("how long a graceful shutdown waits for requests to drain"),
    callingTcpPort: port.default(8443).describe("the single TCP port shared by all calls (ICE-TCP)"),
    callingUdpPortMin: port.default(16384).describe("lowest UDP port for call media"),
    callingUdpPortMax: port.default(19999).describe("highest UDP port for call media"),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.tls === "files" && (!c.tlsCert || !c.tlsKey)) {
      ctx.addIssue({ code: "custom", path: ["tlsCert"], message: "tls=files needs both tlsCert and tlsKey" });
    }
    if (c.callingUdpPortMin > c.callingUdpPortMax) {
      ctx.addIssue({ code: "custom", path: ["callingUdpPortMin"], message: "must not be above callingUdpPortMax" });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigKey = keyof Config;

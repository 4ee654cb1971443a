// In-process pino logging (worker transports break inside compiled binaries).
// Lines go to stdout and to a bounded in-memory ring that the crash report
// reads. Message contents are never passed to the logger anywhere in Outpost.
import pino, { type Logger } from "pino";
import { Writable } from "node:stream";
import type { EventLogging } from "../config/schema.ts";

export type { Logger };

export class LogRing {
  private lines: string[] = [];
  constructor(private readonly max = 2000) {}
  push(line: string) {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  snapshot(): string[] {
    return [...this.lines];
  }
}

export interface LogSetup {
  logger: Logger;
  ring: LogRing;
  /** Event-logging verbosity, switchable at run time by the network admin console. */
  verbosity: { level: EventLogging };
}

const order: EventLogging[] = ["activity", "ip", "messaging", "userid"];

/** True when the running verbosity includes `wanted` (each level includes the ones before it). */
export function verbosityIncludes(current: EventLogging, wanted: EventLogging): boolean {
  return order.indexOf(current) >= order.indexOf(wanted);
}

export function createLogger(opts: { level: string; eventLogging: EventLogging; stdout?: boolean }): LogSetup {
  const ring = new LogRing();
  const ringStream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) if (line) ring.push(line);
      done();
    },
  });
  const streams: pino.StreamEntry[] = [{ level: "trace", stream: ringStream }];
  if (opts.stdout !== false) streams.push({ level: "trace", stream: pino.destination({ fd: 1, sync: true }) });
  const logger = pino(
    {
      level: opts.level,
      base: { service: "outpost" },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Secrets that might ride along in objects are removed before any stream sees them.
      redact: { paths: ["password", "*.password", "token", "*.token", "authorization", "*.authorization", "cookie", "*.cookie"], censor: "[redacted]" },
    },
    pino.multistream(streams),
  );
  return { logger, ring, verbosity: { level: opts.eventLogging } };
}

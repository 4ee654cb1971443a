// What every service and route receives: the composition root builds it once.
import type { Config } from "../config/schema.ts";
import type { Storage } from "../db/client.ts";
import type { GroupCommitWriter } from "../db/group-commit.ts";
import type { LogSetup } from "../log/logger.ts";

export type ReadinessCheck = () => Promise<{ ok: boolean; detail?: string }> | { ok: boolean; detail?: string };

export interface AppContext {
  config: Config;
  log: LogSetup;
  storage: Storage;
  writer: GroupCommitWriter;
  /** Named checks /readyz runs; features add theirs (calling node, compliance writer). */
  readiness: Map<string, ReadinessCheck>;
  startedAt: number;
  version: string;
  /** Set when serving over TLS: the certificate's SHA-256 fingerprint (hex, colon-separated). */
  tlsFingerprint?: string;
  /** This server's own base URL once it listens (local compliance bots connect to it like any client). */
  selfUrl?: string;
}

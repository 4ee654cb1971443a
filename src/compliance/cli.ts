// `outpost compliance ...`: manage each network's compliance writer through the REST API
// (add prints the bot's generated password once), and `run` a writer on its own host.
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { OutpostError, RestApi, type ClientConfig } from "../client/api.ts";
import { OutpostClient } from "../client/client.ts";
import { createLogger } from "../log/logger.ts";
import { ComplianceBot, saveBotState } from "./bot.ts";
import { ComplianceOptionsError, parseComplianceWriterOptions } from "./writer.ts";

export const COMPLIANCE_USAGE = `outpost compliance <command> [options]

Data retention: one compliance writer per network. Its bot is a device like any client,
so every message of the network is encrypted to it too and it writes them, decrypted, as
retention lines. Management commands call the REST API of --server with an API token
($OUTPOST_API_TOKEN or --token-file FILE; permissions networks.read / networks.write).

Commands:
  add      --server URL --network ID [--username NAME] [--remote]
           [--messages-dir DIR] [--attachments-dir DIR] [--file-prefix P] [--max-file-bytes N]
           Creates the bot (username ending in "bot", default compliancebot) and prints its
           generated password ONCE. Without --remote the server runs the writer itself.
  list     --server URL                      every writer with its state and backlog
  status   --server URL --network ID         one writer: state, last message, backlog, bytes, errors
  pause | start | restart | delete   --server URL --network ID
  run      --state FILE --messages-dir DIR --attachments-dir DIR
           [--file-prefix P] [--max-file-bytes N] [--server URL]
           Runs a writer on this host until SIGINT/SIGTERM. The first run registers the bot's
           device: it also needs --config FILE (client configuration: serviceUrl, networkId)
           --username NAME and the bot's password in $OUTPOST_COMPLIANCE_PASSWORD or
           --password-file FILE. The state file (keys and cursor) is kept mode 0600.

The client configuration file is read in clear for now (an encrypted configuration with
its own password comes with the client configuration feature).`;

class UsageError extends Error {}

const options = {
  server: { type: "string" },
  network: { type: "string" },
  username: { type: "string" },
  remote: { type: "boolean" },
  "messages-dir": { type: "string" },
  "attachments-dir": { type: "string" },
  "file-prefix": { type: "string" },
  "max-file-bytes": { type: "string" },
  "token-file": { type: "string" },
  state: { type: "string" },
  config: { type: "string" },
  "password-file": { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true; strict: true }>>["values"];

function need(v: Values, key: keyof Values): string {
  const x = v[key];
  if (typeof x !== "string" || x === "") throw new UsageError(`--${key} is required`);
  return x;
}

function maxFileBytes(v: Values): number | undefined {
  const raw = v["max-file-bytes"];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new UsageError("--max-file-bytes must be a whole number of bytes");
  return n;
}

function secretFrom(env: string, file: string | undefined, what: string): string {
  if (file) return readFileSync(file, "utf8").trim();
  const v = process.env[env];
  if (v) return v;
  throw new UsageError(`${what}: set $${env} or pass its file (never a flag: flags are visible to other users)`);
}

/** Writer options from flags, validated by the writer's own schema; errors name the flag. */
function writerFlags(v: Values) {
  const input = {
    messagesDir: need(v, "messages-dir"),
    attachmentsDir: need(v, "attachments-dir"),
    ...(v["file-prefix"] !== undefined ? { filePrefix: v["file-prefix"] } : {}),
    ...(maxFileBytes(v) !== undefined ? { maxFileBytes: maxFileBytes(v) } : {}),
  };
  try {
    parseComplianceWriterOptions(input);
  } catch (e) {
    if (e instanceof ComplianceOptionsError) throw new UsageError(e.issues.map((i) => `--${i.path.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`).join("; "));
    throw e;
  }
  return input;
}

export async function runComplianceCli(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    const { values: v, positionals } = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (command === "run") return await run(v);
    const api = () => new RestApi(need(v, "server").replace(/\/$/, ""), secretFrom("OUTPOST_API_TOKEN", v["token-file"], "the API token"));
    const net = () => encodeURIComponent(need(v, "network"));
    const print = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);
    switch (command) {
      case "add": {
        const body = {
          ...(v.username ? { username: v.username } : {}),
          mode: v.remote ? "remote" : "local",
          ...(v["messages-dir"] ? { messagesDir: v["messages-dir"] } : {}),
          ...(v["attachments-dir"] ? { attachmentsDir: v["attachments-dir"] } : {}),
          ...(v["file-prefix"] ? { filePrefix: v["file-prefix"] } : {}),
          ...(maxFileBytes(v) !== undefined ? { maxFileBytes: maxFileBytes(v) } : {}),
        };
        const r = await api().call<{ writer: unknown; username: string; password: string }>("POST", `/api/v1/networks/${net()}/compliance`, body);
        print(r.writer);
        process.stderr.write(`\n  Compliance bot "${r.username}" created.\n  Its password (shown once, keep it for "outpost compliance run"): ${r.password}\n\n`);
        return 0;
      }
      case "list": {
        let offset = 0;
        for (;;) {
          const page = await api().call<{ items: unknown[]; total: number }>("GET", `/api/v1/compliance/writers?limit=500&offset=${offset}`);
          for (const item of page.items) print(item);
          offset += page.items.length;
          if (page.items.length === 0 || offset >= page.total) return 0;
        }
      }
      case "status":
        print(await api().call("GET", `/api/v1/networks/${net()}/compliance`));
        return 0;
      case "pause":
      case "start":
      case "restart":
        print(await api().call("POST", `/api/v1/networks/${net()}/compliance/${command}`));
        return 0;
      case "delete":
        await api().call("DELETE", `/api/v1/networks/${net()}/compliance`);
        return 0;
      default:
        throw new UsageError(`unknown compliance command "${command ?? ""}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))) {
      process.stderr.write(`outpost compliance: ${(e as Error).message}\n\n${COMPLIANCE_USAGE}\n`);
      return 2;
    }
    if (e instanceof OutpostError) {
      process.stderr.write(`outpost compliance: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** The writer on its own host: registers its device on the first run, then retains until stopped. */
async function run(v: Values): Promise<number> {
  const statePath = need(v, "state");
  const writer = writerFlags(v);
  if (!existsSync(statePath)) {
    const config = JSON.parse(readFileSync(need(v, "config"), "utf8")) as ClientConfig;
    if (typeof config.serviceUrl !== "string" || typeof config.networkId !== "string") throw new UsageError("--config must hold serviceUrl and networkId");
    if (v.server) config.serviceUrl = v.server;
    const password = secretFrom("OUTPOST_COMPLIANCE_PASSWORD", v["password-file"], "the bot's password");
    const client = await OutpostClient.register({ config, username: need(v, "username"), password, deviceName: "compliance writer", prekeyCount: 200 });
    saveBotState(statePath, client.exportState());
    await client.api.call("POST", "/api/client/v1/compliance/claim");
    process.stderr.write(`registered compliance device ${client.deviceId}\n`);
  }
  const log = createLogger({ level: process.env.OUTPOST_LOG_LEVEL ?? "info", eventLogging: "activity" });
  // Signal handlers go in before anything is announced: a supervisor may stop the writer the
  // moment it reads the ready line, and Bun installs a handler only as the event loop turns.
  let stopRequested = false;
  let onStop = () => {
    stopRequested = true;
  };
  let signals = 0;
  const signalled = () => (++signals > 1 ? process.exit(130) : onStop());
  process.on("SIGTERM", signalled);
  process.on("SIGINT", signalled);
  const bot = await ComplianceBot.start({ statePath, writer, logger: log.logger, serverUrl: v.server });
  const timer = setInterval(() => {
    const s = bot.status();
    // A heartbeat with the health figures (no contents) so operators and supervisors can watch it.
    log.logger.info({ state: s.state, connected: s.connected, lines: s.linesWritten, backlog: s.backlog, cursor: s.cursor, rejected: s.rejected }, "compliance writer status");
  }, 60_000);
  // Not unref'd: it keeps the process alive while the client waits between connections
  // (its reconnect timers are unref'd, and a throttled client holds no socket for a moment).
  process.stdout.write(`OUTPOST-COMPLIANCE-READY ${JSON.stringify({ deviceId: bot.client.deviceId })}\n`);
  return new Promise<number>((resolve) => {
    onStop = () => {
      clearInterval(timer);
      bot.close().then(
        () => resolve(0),
        (e) => {
          process.stderr.write(`stop failed: ${(e as Error).message}\n`);
          resolve(1);
        },
      );
    };
    if (stopRequested) onStop();
  });
}

#!/usr/bin/env bun
// The `outpost` command: every role of the appliance is a subcommand of this one binary.
import { ConfigError, configKeys, envName, flagName, loadConfig, parseConfigFlags } from "./config/load.ts";
import { configSchema } from "./config/schema.ts";
import { AppError } from "./http/errors.ts";
import { version } from "./version.ts";

const EXIT_USAGE = 2;

interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

function settingsHelp(): string {
  const shape = configSchema.shape as Record<string, { description?: string }>;
  return configKeys()
    .map((k) => `  ${flagName(k).padEnd(26)} ${envName(k).padEnd(32)} ${shape[k]?.description ?? ""}`)
    .join("\n");
}

/** Reads setting flags; returns the effective config and up to `positional` plain arguments. */
function config(args: string[], positional = 0) {
  const { flags, rest, problems } = parseConfigFlags(args);
  if (problems.length) throw new ConfigError(problems);
  const unknown = rest.filter((r, i) => r.startsWith("-") || i >= positional);
  if (unknown.length) throw new ConfigError(unknown.map((r) => `${r}: unknown argument (see --help)`));
  return { ...loadConfig({ flags }), args: rest };
}

const commands: Record<string, Command> = {
  serve: {
    summary: "run the server (admin consoles, REST API, relay)",
    usage: `outpost serve [settings]

Starts Outpost. Settings come from flags, then OUTPOST_* environment
variables, then <data-dir>/outpost.toml (or outpost.json), then defaults.

Settings (flag, environment variable, meaning):
${settingsHelp()}`,
    async run(args) {
      const { config: cfg, file } = config(args);
      const { startServer } = await import("./app/server.ts");
      const running = await startServer(cfg);
      if (file) running.ctx.log.logger.info({ file }, "settings file read");
      if (running.firstAdminPassword) {
        // Printed straight to the terminal, never into the log (the crash report bundles logs).
        process.stdout.write(
          `\n  First start: super administrator "admin" created.\n  One-time password: ${running.firstAdminPassword}\n  Sign in at ${running.url}/admin and choose a new password.\n\n`,
        );
      }
      let signals = 0;
      const onSignal = (sig: string) => {
        signals++;
        if (signals > 1) {
          process.stderr.write(`${sig} again: exiting at once\n`);
          process.exit(130);
        }
        running.stop().then(
          () => process.exit(0),
          (e) => {
            process.stderr.write(`shutdown failed: ${(e as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", () => onSignal("SIGTERM"));
      process.on("SIGINT", () => onSignal("SIGINT"));
      return new Promise<number>(() => {});
    },
  },
  "calling-node": {
    summary: "run the calling node (werift SFU); serve starts one, or run it on its own host",
    usage: `outpost calling-node [settings]

Runs the selective forwarding unit for calls: media on callingAddress (UDP
callingUdpPortMin-callingUdpPortMax and ICE-TCP on the one callingTcpPort),
control channel and signalling on callingControlPort. \`outpost serve\` starts
and supervises one by itself; on its own host, copy <data-dir>/calling/node.secret
from the messaging server and point the server at it (callingMode=external,
callingNodeUrl).`,
    async run(args) {
      // --supervised: started by serve, whose end (our stdin closing) ends this process too.
      const supervised = args.includes("--supervised");
      const { config: cfg } = config(args.filter((a) => a !== "--supervised"));
      const { runCallingNode } = await import("./calling/main.ts");
      return runCallingNode(cfg, { supervised });
    },
  },
  migrate: {
    summary: "apply database migrations and exit",
    usage: "outpost migrate [--data-dir DIR]\n\nApplies the migrations built into this binary to <data-dir>/outpost.db (serve also does this at start).",
    async run(args) {
      const { config: cfg } = config(args);
      const { openStorage } = await import("./db/client.ts");
      const { applyMigrations } = await import("./db/migrate.ts");
      const storage = openStorage(cfg.dataDir, { readConnections: 1 });
      try {
        const r = applyMigrations(storage);
        process.stdout.write(`${r.applied} migration(s) applied; ${r.total} known; database ${storage.path} (SQLite ${storage.sqliteVersion})\n`);
      } finally {
        storage.close();
      }
      return 0;
    },
  },
  client: {
    summary: "a scriptable client: register, send, listen (JSON lines)",
    usage: "outpost client <register|send|listen|sync-code|conversations> --state FILE ...\n\nRun \"outpost client help\" for every option.",
    async run(args) {
      const { runClientCli, CLIENT_USAGE } = await import("./client/cli.ts");
      if (args[0] === "help") {
        process.stdout.write(CLIENT_USAGE + "\n");
        return 0;
      }
      return runClientCli(args);
    },
  },
  compliance: {
    summary: "data retention: add, list, pause, start, restart, delete compliance writers; run one on its own host",
    usage: "outpost compliance <add|list|status|pause|start|restart|delete|run> ...\n\nRun \"outpost compliance help\" for every option.",
    async run(args) {
      const { runComplianceCli, COMPLIANCE_USAGE } = await import("./compliance/cli.ts");
      if (args[0] === "help") {
        process.stdout.write(COMPLIANCE_USAGE + "\n");
        return 0;
      }
      return runComplianceCli(args);
    },
  },
  version: {
    summary: "print the version",
    usage: "outpost version",
    async run() {
      process.stdout.write(`outpost ${version} (bun ${Bun.version})\n`);
      return 0;
    },
  },
  admin: {
    summary: "local administration: admin reset-password <username>",
    usage: `outpost admin reset-password <username> [--data-dir DIR]

Local recovery of an administrator's lost password. Needs access to the data
directory (run it on the box, as the user that owns the data). Prints a new
one-time password that must be changed at the next sign-in, and signs out
that administrator's session.`,
    async run(args) {
      const [sub, ...more] = args;
      if (sub !== "reset-password") {
        process.stderr.write(`unknown admin command "${sub ?? ""}"; try: outpost admin reset-password <username>\n`);
        return EXIT_USAGE;
      }
      const { config: cfg, args: pos } = config(more, 1);
      const username = pos[0];
      if (!username) {
        process.stderr.write("usage: outpost admin reset-password <username> [--data-dir DIR]\n");
        return EXIT_USAGE;
      }
      const { openContext } = await import("./app/server.ts");
      const { applyMigrations } = await import("./db/migrate.ts");
      const { resetAdminPassword } = await import("./modules/admins/admins.service.ts");
      const { createLogger } = await import("./log/logger.ts");
      const ctx = openContext(cfg, createLogger({ level: "silent", eventLogging: "activity", stdout: false }));
      try {
        applyMigrations(ctx.storage);
        const password = await resetAdminPassword(ctx, username);
        process.stdout.write(`One-time password for "${username}": ${password}\nIt must be changed at the next sign-in.\n`);
        return 0;
      } finally {
        await ctx.writer.drain();
        ctx.writer.close();
        ctx.storage.close();
      }
    },
  },
};

function mainHelp(): string {
  return `outpost ${version}: self-hosted end-to-end encrypted messaging

Usage: outpost <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(13)} ${c.summary}`)
  .join("\n")}

Run "outpost <command> --help" for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(mainHelp() + "\n");
    return name ? 0 : EXIT_USAGE;
  }
  if (name === "--version") return commands.version!.run([]);
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"\n\n${mainHelp()}\n`);
    return EXIT_USAGE;
  }
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(command.usage + "\n");
    return 0;
  }
  try {
    return await command.run(args);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`outpost: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof AppError) {
      process.stderr.write(`outpost: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then((code) => {
    if (code !== undefined) process.exit(code);
  });
}

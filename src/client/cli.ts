// `outpost client ...`: the SDK as a scriptable command for bots and operators. Device
// state (keys, cursor) lives in a file (mode 0600); output is JSON lines on stdout,
// problems go to stderr with a non-zero exit code.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { OutpostError, type ClientConfig } from "./api.ts";
import { OutpostClient, type DeviceState } from "./client.ts";
import { fileContentOf, files } from "./files.ts";
import { MessageType } from "./messages.ts";

export const CLIENT_USAGE = `outpost client <command> [options]

A scriptable Outpost client. Keys and the delivery cursor are kept in --state FILE
(created by register, mode 0600: guard it like a password). Output is JSON lines.

Commands:
  register   --state FILE (--config FILE | --server URL --network ID) --username NAME
             [--sync-code CODE] [--name DEVICE-NAME]
             The password is read from $OUTPOST_CLIENT_PASSWORD or --password-file FILE
             (never from a flag: flags are visible to other users of the machine).
             A user's second device needs --sync-code from "outpost client sync-code".
  send       --state FILE (--to USERNAME | --conversation ID) (--text TEXT | --stdin)
             [--ttl SECONDS] [--bor SECONDS]      --stdin sends one message per line
  listen     --state FILE [--count N] [--seconds S]
             Prints {"event":"message",...} (and error, receipt, typing, presence) lines
             until N messages, S seconds, or SIGINT/SIGTERM; the cursor is saved on exit.
  send-file  --state FILE (--to USERNAME | --conversation ID) --file PATH [--name NAME]
             [--ttl SECONDS] [--bor SECONDS]      encrypts, uploads (progress lines) and sends it
  save-file  --state FILE --message FILE|- --out PATH
             Saves the file a 6000 message describes (a "message" line from listen, or
             its content), checking every chunk and the whole file; progress as lines.
  sync-code  --state FILE     prints a code that lets a new device of this user register
  conversations --state FILE  lists this user's conversations

The --config file is a client configuration: {"serviceUrl","networkId","pins"?,"certificates"?}.`;

class UsageError extends Error {}

function need(values: Record<string, unknown>, key: string): string {
  const v = values[key];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${key} is required`);
  return v;
}

function seconds(values: Record<string, unknown>, key: string): number | undefined {
  const v = values[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${key} must be a non-negative whole number`);
  return n;
}

function readState(path: string): DeviceState {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`cannot read the state file ${path} (run "outpost client register" first)`);
  }
  const state = JSON.parse(text) as DeviceState;
  if (state.version !== 1 || typeof state.deviceId !== "string") throw new UsageError(`${path} is not an Outpost client state file`);
  return state;
}

function saveState(path: string, state: DeviceState) {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, path);
}

function readConfig(values: Record<string, unknown>): ClientConfig {
  if (typeof values.config === "string") {
    const c = JSON.parse(readFileSync(values.config, "utf8")) as Partial<ClientConfig>;
    if (typeof c.serviceUrl !== "string" || typeof c.networkId !== "string") throw new UsageError(`${values.config}: a client configuration needs serviceUrl and networkId`);
    return { serviceUrl: c.serviceUrl, networkId: c.networkId, ...(Array.isArray(c.pins) ? { pins: c.pins } : {}), ...(Array.isArray(c.certificates) ? { certificates: c.certificates } : {}) };
  }
  return { serviceUrl: need(values, "server"), networkId: need(values, "network") };
}

const out = (value: unknown) => process.stdout.write(JSON.stringify(value) + "\n");

async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      state: { type: "string" },
      config: { type: "string" },
      server: { type: "string" },
      network: { type: "string" },
      username: { type: "string" },
      "password-file": { type: "string" },
      "sync-code": { type: "string" },
      name: { type: "string" },
      to: { type: "string" },
      conversation: { type: "string" },
      text: { type: "string" },
      stdin: { type: "boolean" },
      ttl: { type: "string" },
      bor: { type: "string" },
      count: { type: "string" },
      seconds: { type: "string" },
      file: { type: "string" },
      message: { type: "string" },
      out: { type: "string" },
    },
  });
  const statePath = need(values, "state");
  switch (command) {
    case "register": {
      const password = typeof values["password-file"] === "string" ? readFileSync(values["password-file"], "utf8").replace(/\r?\n$/, "") : process.env.OUTPOST_CLIENT_PASSWORD;
      if (!password) throw new UsageError("set $OUTPOST_CLIENT_PASSWORD or pass --password-file");
      const client = await OutpostClient.register({
        config: readConfig(values),
        username: need(values, "username"),
        password,
        ...(values["sync-code"] ? { syncCode: values["sync-code"] } : {}),
        ...(values.name ? { deviceName: values.name } : {}),
      });
      saveState(statePath, client.exportState());
      out({ event: "registered", userId: client.userId, deviceId: client.deviceId, username: client.username });
      return 0;
    }
    case "send": {
      const client = await OutpostClient.restore(readState(statePath));
      const texts = values.stdin ? readFileSync(0, "utf8").split(/\r?\n/).filter((l) => l !== "") : [need(values, "text")];
      const conversationId = values.to ? (await client.openDirect({ username: values.to })).id : need(values, "conversation");
      const ttl = seconds(values, "ttl");
      const bor = seconds(values, "bor");
      await client.connect();
      try {
        for (const text of texts) {
          const r = await client.sendText(conversationId, text, { ...(ttl !== undefined ? { ttl } : {}), ...(bor !== undefined ? { bor } : {}) });
          out({ event: "sent", conversationId, packetId: r.packetId, seq: r.seq, duplicate: r.duplicate });
        }
      } finally {
        await client.close();
        saveState(statePath, client.exportState());
      }
      return 0;
    }
    case "listen": {
      const client = await OutpostClient.restore(readState(statePath));
      const count = seconds(values, "count");
      const limitS = seconds(values, "seconds");
      let received = 0;
      let finish!: () => void;
      const done = new Promise<void>((r) => (finish = r));
      client.on("message", ({ message: m }) => {
        out({ event: "message", packetId: m.packetId, seq: m.seq, conversationId: m.conversationId, sender: m.senderUserId, senderDevice: m.senderDeviceId, type: m.type, content: m.content, sentAt: m.sentAt, ttl: m.ttl, bor: m.bor });
        if (count !== undefined && ++received >= count) finish();
      });
      client.on("error", (e) => out({ event: "error", code: e.code, message: e.message, ...(e.seq !== undefined ? { seq: e.seq } : {}) }));
      client.on("receipt", (e) => out({ event: "receipt", conversationId: e.conversationId, userId: e.userId, packetIds: e.packetIds }));
      client.on("typing", (e) => out({ event: "typing", conversationId: e.conversationId, userId: e.userId }));
      client.on("presence", (e) => out({ event: "presence", userId: e.userId, status: e.status }));
      process.once("SIGINT", finish);
      process.once("SIGTERM", finish);
      if (limitS !== undefined) setTimeout(finish, limitS * 1000);
      await client.connect();
      out({ event: "listening", userId: client.userId, deviceId: client.deviceId });
      await done;
      await client.close();
      saveState(statePath, client.exportState());
      return 0;
    }
    case "send-file": {
      const client = await OutpostClient.restore(readState(statePath));
      const path = need(values, "file");
      if (!(await Bun.file(path).exists())) throw new UsageError(`cannot read ${path}`);
      const conversationId = values.to ? (await client.openDirect({ username: values.to })).id : need(values, "conversation");
      const ttl = seconds(values, "ttl");
      const bor = seconds(values, "bor");
      await client.connect();
      try {
        const sent = await files(client).sendFile(conversationId, { name: values.name ?? basename(path), path }, {
          ...(ttl !== undefined ? { ttl } : {}),
          ...(bor !== undefined ? { bor } : {}),
          onProgress: (p) => out({ event: "progress", ...p }),
        });
        out({ event: "file-sent", conversationId, packetId: sent.packetId, seq: sent.seq, fileId: sent.content.fileid, name: sent.content.name, size: sent.content.size, sha256: sent.content.sha256 });
      } finally {
        await client.close();
        saveState(statePath, client.exportState());
      }
      return 0;
    }
    case "save-file": {
      const client = await OutpostClient.restore(readState(statePath));
      const source = need(values, "message");
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(source === "-" ? 0 : source, "utf8"));
      } catch {
        throw new UsageError(`--message ${source}: not a JSON message line or file content`);
      }
      const record = parsed as { content?: unknown; type?: unknown };
      if (record.type !== undefined && record.type !== MessageType.file) throw new UsageError(`--message ${source}: a ${String(record.type)} message, not a file (6000)`);
      const content = fileContentOf(record.content ?? parsed);
      const target = need(values, "out");
      await files(client).saveFile(content, target, { onProgress: (p) => out({ event: "progress", ...p }) });
      out({ event: "file-saved", path: target, fileId: content.fileid, name: content.name, size: content.size, sha256: content.sha256 });
      return 0;
    }
    case "sync-code": {
      const client = await OutpostClient.restore(readState(statePath));
      out({ event: "sync-code", code: await client.createSyncCode(), validMinutes: 10 });
      return 0;
    }
    case "conversations": {
      const client = await OutpostClient.restore(readState(statePath));
      let after: string | undefined;
      for (;;) {
        const page = await client.listConversations({ limit: 200, ...(after ? { after } : {}) });
        for (const c of page.items) out({ event: "conversation", ...c });
        if (!page.next) break;
        after = page.next;
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown client command "${command ?? ""}"`);
  }
}

/** Entry point for `outpost client`: 0 ok, 1 refused by the server, 2 usage error. */
export async function runClientCli(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`outpost client: ${(e as Error).message}\n\n${CLIENT_USAGE}\n`);
      return 2;
    }
    if (e instanceof OutpostError) {
      process.stderr.write(`outpost client: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

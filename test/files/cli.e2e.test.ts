// `outpost client send-file` / `save-file` as separate processes against a real server.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { files, fileContentOf, MessageType, type OutpostClient } from "../../src/client/index.ts";
import { inbox, PASSWORD, startWorld, until, type World } from "../messaging/world.ts";

const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
let w: World;
let alice: OutpostClient;
let dir: string;
const state = () => join(dir, "bot.json");
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "filebot"]);
  alice = await w.client("alice");
  dir = mkdtempSync(join(tmpdir(), "outpost-files-cli-"));
});
afterAll(async () => {
  await w.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}) {
  const proc = Bun.spawn([process.execPath, main, "client", ...args], {
    env: { PATH: process.env.PATH ?? "", ...(opts.env ?? {}) },
    stdin: opts.stdin !== undefined ? new Blob([opts.stdin]) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stderr, lines: stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test("send-file and save-file with progress lines", async () => {
  const reg = await cli(["register", "--state", state(), "--server", w.server.url, "--network", w.networkId, "--username", "filebot"], { env: { OUTPOST_CLIENT_PASSWORD: PASSWORD } });
  expect(reg.code).toBe(0);
  const bytes = crypto.getRandomValues(new Uint8Array(65536));
  const big = new Uint8Array(9 * 1024 * 1024 + 3);
  for (let off = 0; off < big.length; off += bytes.length) big.set(bytes.subarray(0, Math.min(bytes.length, big.length - off)), off);
  writeFileSync(join(dir, "report.bin"), big);
  const aliceIn = inbox(alice);
  const sent = await cli(["send-file", "--state", state(), "--to", "alice", "--file", join(dir, "report.bin"), "--ttl", "3600"]);
  expect(sent.stderr).toBe("");
  expect(sent.code).toBe(0);
  const progress = sent.lines.filter((l) => l.event === "progress");
  expect(progress.length).toBeGreaterThanOrEqual(3);
  expect(progress.at(-1)).toMatchObject({ phase: "upload", done: big.length, total: big.length });
  const done = sent.lines.at(-1)!;
  expect(done).toMatchObject({ event: "file-sent", name: "report.bin", size: big.length });
  await until(() => aliceIn.some((m) => m.packetId === done.packetId), "alice receives the file message");
  const content = fileContentOf(aliceIn.find((m) => m.packetId === done.packetId)!.content);
  expect(Buffer.from(await files(alice).download(content)).equals(Buffer.from(big))).toBe(true);

  // alice sends one back; the bot saves it from the message line `listen` would print.
  const back = await files(alice).sendFile(done.conversationId as string, { name: "reply.txt", bytes: new TextEncoder().encode("thanks") });
  const line = JSON.stringify({ event: "message", packetId: back.packetId, type: MessageType.file, content: back.content });
  const saved = await cli(["save-file", "--state", state(), "--message", "-", "--out", join(dir, "reply.txt")], { stdin: line });
  expect(saved.stderr).toBe("");
  expect(saved.lines.at(-1)).toMatchObject({ event: "file-saved", name: "reply.txt", size: 6 });
  expect(readFileSync(join(dir, "reply.txt"), "utf8")).toBe("thanks");

  // Tampered content: refused (exit 1) and nothing written.
  const bad = await cli(["save-file", "--state", state(), "--message", "-", "--out", join(dir, "bad.txt")], { stdin: JSON.stringify({ ...back.content, sha256: "00".repeat(32) }) });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain("integrity");
  expect(() => readFileSync(join(dir, "bad.txt"))).toThrow();
  const notFile = await cli(["save-file", "--state", state(), "--message", "-", "--out", join(dir, "x")], { stdin: JSON.stringify({ type: 1000, content: { text: "hi" } }) });
  expect(notFile.code).toBe(2);
  const missing = await cli(["send-file", "--state", state(), "--to", "alice", "--file", join(dir, "nope.bin")]);
  expect(missing.code).toBe(2);
});

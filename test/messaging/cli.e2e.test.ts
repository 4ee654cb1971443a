// `outpost client` as a separate process against a real server: register, send, listen.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { OutpostClient } from "../../src/client/index.ts";
import { inbox, PASSWORD, startWorld, until, type World } from "./world.ts";

const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
let w: World;
let alice: OutpostClient;
let dir: string;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "opsbot"], {});
  alice = await w.client("alice");
  dir = mkdtempSync(join(tmpdir(), "outpost-cli-"));
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

test("register, send and listen as JSON lines", async () => {
  const state = join(dir, "opsbot.json");
  const reg = await cli(["register", "--state", state, "--server", w.server.url, "--network", w.networkId, "--username", "opsbot"], { env: { OUTPOST_CLIENT_PASSWORD: PASSWORD } });
  expect(reg.stderr).toBe("");
  expect(reg.code).toBe(0);
  expect(reg.lines[0]).toMatchObject({ event: "registered", username: "opsbot" });
  expect(statSync(state).mode & 0o777).toBe(0o600);

  const got = inbox(alice);
  const sent = await cli(["send", "--state", state, "--to", "alice", "--stdin"], { stdin: "first line\nsecond line\n" });
  expect(sent.code).toBe(0);
  expect(sent.lines.map((l) => l.event)).toEqual(["sent", "sent"]);
  await until(() => got.length === 2, "alice receives both lines");
  expect(got.map((m) => (m.content as { text: string }).text)).toEqual(["first line", "second line"]);

  const dm = got[0]!.conversationId;
  await alice.openDirect({ userId: got[0]!.senderUserId });
  await alice.sendText(dm, "hello bot");
  const listened = await cli(["listen", "--state", state, "--count", "1", "--seconds", "20"]);
  expect(listened.code).toBe(0);
  expect(listened.lines[0]).toMatchObject({ event: "listening" });
  expect(listened.lines[1]).toMatchObject({ event: "message", conversationId: dm, sender: alice.userId, type: 1000, content: { text: "hello bot", links: [] } });
  // The cursor was saved: listening again does not print the same message.
  const again = await cli(["listen", "--state", state, "--seconds", "1"]);
  expect(again.lines.filter((l) => l.event === "message")).toEqual([]);
}, 60_000);

test("usage errors and server refusals exit non-zero with a clear message", async () => {
  const noState = await cli(["send", "--text", "x"]);
  expect(noState.code).toBe(2);
  expect(noState.stderr).toMatch(/--state is required/);
  const unknownFlag = await cli(["send", "--state", "x", "--bogus"]);
  expect(unknownFlag.code).toBe(2);
  const noPassword = await cli(["register", "--state", join(dir, "x.json"), "--server", w.server.url, "--network", w.networkId, "--username", "alice"]);
  expect(noPassword.code).toBe(2);
  expect(noPassword.stderr).toMatch(/OUTPOST_CLIENT_PASSWORD/);
  const wrong = await cli(["register", "--state", join(dir, "x.json"), "--server", w.server.url, "--network", w.networkId, "--username", "alice"], { env: { OUTPOST_CLIENT_PASSWORD: "Wrong-Password-1" } });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toMatch(/invalid_credentials: wrong username or password/);
  const missing = await cli(["listen", "--state", join(dir, "absent.json")]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/cannot read the state file/);
}, 60_000);

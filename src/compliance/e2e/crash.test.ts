// Crash safety: a writer process is SIGKILLed mid-stream, twice, and restarted with the same
// input replayed each time (as the server re-delivers everything unacknowledged). Every message
// must end up retained exactly once, with no torn line, and nothing acknowledged may be missing.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, test } from "vitest";
import { sampleMessageId } from "../sample-records.ts";

const child = fileURLToPath(new URL("./writer-child.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "compliance-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const messagesDir = join(dir, "messages");
const attachmentsDir = join(dir, "attachments");
const COUNT = 12_000;

/** Runs the child; SIGKILLs it once it has acknowledged `killAfter` messages (null: let it finish). */
async function run(killAfter: number | null): Promise<{ acked: number[]; done: string | null }> {
  const proc = Bun.spawn([process.execPath, child, messagesDir, attachmentsDir, String(COUNT), "65536"], { stdout: "pipe", stderr: "inherit" });
  const acked: number[] = [];
  let done: string | null = null;
  let rest = "";
  const decoder = new TextDecoder();
  for await (const chunk of proc.stdout) {
    rest += decoder.decode(chunk, { stream: true });
    const lines = rest.split("\n");
    rest = lines.pop()!;
    for (const l of lines) {
      if (l.startsWith("ack ")) acked.push(Number(l.slice(4)));
      else if (l.startsWith("done ")) done = l;
    }
    if (killAfter !== null && acked.length >= killAfter) {
      proc.kill("SIGKILL");
      break;
    }
  }
  await proc.exited;
  return { acked, done };
}

/** Complete lines currently on disk (a torn last line, if any, is returned separately). */
function onDisk(): { ids: string[]; torn: boolean } {
  const files = readdirSync(messagesDir).filter((f) => f.endsWith(".log")).sort((a, b) => (a === "receivedMessages.log" ? 1 : b === "receivedMessages.log" ? -1 : a.localeCompare(b)));
  const ids: string[] = [];
  let torn = false;
  for (const f of files) {
    const text = readFileSync(join(messagesDir, f), "utf8");
    const lines = text.split("\n");
    const last = lines.pop()!;
    if (last !== "") torn = true;
    for (const l of lines) ids.push((JSON.parse(l) as { message_id: string }).message_id);
  }
  return { ids, torn };
}

test("SIGKILL mid-stream, twice, then replay: every message exactly once, no torn line, nothing acknowledged lost", async () => {
  const first = await run(2500);
  expect(first.done).toBeNull();
  let disk = new Set(onDisk().ids);
  for (const i of first.acked) expect(disk.has(sampleMessageId(i))).toBe(true);

  const second = await run(7000);
  expect(second.done).toBeNull();
  disk = new Set(onDisk().ids);
  for (const i of second.acked) expect(disk.has(sampleMessageId(i))).toBe(true);

  const last = await run(null);
  expect(last.done).not.toBeNull();
  expect(new Set(last.acked).size).toBe(COUNT);

  const { ids, torn } = onDisk();
  expect(torn).toBe(false);
  expect(ids.length).toBe(COUNT);
  expect(new Set(ids).size).toBe(COUNT);
  expect([...ids].sort()).toEqual(Array.from({ length: COUNT }, (_, i) => sampleMessageId(i)).sort());
  // Both killed runs had made progress the last run found already retained.
  const [, written, duplicates] = last.done!.split(" ").map(Number);
  expect(written! + duplicates!).toBe(COUNT);
  expect(duplicates).toBeGreaterThanOrEqual(new Set([...first.acked, ...second.acked]).size);
  expect(readdirSync(messagesDir).filter((f) => /^receivedMessages\.\d{17}\.log$/.test(f)).length).toBeGreaterThan(5);
  expect(readdirSync(attachmentsDir).filter((f) => f.startsWith(".partial-"))).toEqual([]);
  expect(readdirSync(attachmentsDir).length).toBe(COUNT / 50);
});

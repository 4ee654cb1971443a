// Write failures on real file systems: a 1 MiB tmpfs that fills up (ENOSPC) and a tmpfs
// remounted read-only (EROFS; root ignores permission bits, so chmod would prove nothing).
// The writer must stop acknowledging, say so, leave no torn line, and resume by itself.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { createLogger } from "../../log/logger.ts";
import { sampleMessageId, sampleRecord } from "../sample-records.ts";
import { type AcceptResult, ComplianceWriter } from "../writer.ts";

const root = mkdtempSync(join(tmpdir(), "compliance-disk-"));
const mounted: string[] = [];

function sh(...cmd: string[]): { ok: boolean; err: string } {
  const r = Bun.spawnSync(cmd, { stderr: "pipe", stdout: "ignore" });
  return { ok: r.exitCode === 0, err: r.stderr.toString().trim() };
}

function mountTmpfs(size: string): string {
  const dir = mkdtempSync(join(root, "fs-"));
  const r = sh("mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir);
  if (!r.ok) throw new Error(`mount failed: ${r.err}`);
  mounted.push(dir);
  return dir;
}

/** Remounts; the writer holds no file open between flushes, so a busy mount clears within a flush. */
async function remount(dir: string, mode: "ro" | "rw"): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = sh("mount", "-o", `remount,${mode}`, dir);
    if (r.ok) return;
    await Bun.sleep(5);
  }
  throw new Error(`could not remount ${dir} ${mode}`);
}

// Mounting needs root (tests run as root here); without it these tests cannot mean anything.
const probe = (() => {
  const dir = mkdtempSync(join(root, "probe-"));
  const r = sh("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir);
  if (r.ok) sh("umount", dir);
  return r;
})();

afterAll(() => {
  for (const dir of mounted) if (!sh("umount", dir).ok) sh("umount", "-l", dir);
  rmSync(root, { recursive: true, force: true });
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await Bun.sleep(10);
  }
}

function track(p: Promise<AcceptResult>, done: Set<number>, i: number): Promise<AcceptResult> {
  return p.then((r) => {
    done.add(i);
    return r;
  });
}

/** Ids of the complete lines in the current file; fails on a torn line. */
function lineIds(messagesDir: string): string[] {
  const text = readFileSync(join(messagesDir, "receivedMessages.log"), "utf8");
  if (text === "") return [];
  expect(text.endsWith("\n")).toBe(true);
  return text
    .slice(0, -1)
    .split("\n")
    .map((l) => (JSON.parse(l) as { message_id: string }).message_id);
}

describe.skipIf(!probe.ok)(`write failures on tmpfs${probe.ok ? "" : ` — SKIPPED: cannot mount (${probe.err})`}`, () => {
  test("disk full: stops acknowledging, reports failing, leaves whole lines only, resumes by itself once space is freed", async () => {
    const fs = mountTmpfs("1m");
    const filler = join(fs, "filler");
    writeFileSync(filler, Buffer.alloc(640 * 1024, 1));
    const messagesDir = join(fs, "messages");
    const { logger, ring } = createLogger({ level: "info", eventLogging: "activity", stdout: false });
    const w = await ComplianceWriter.open({ messagesDir, attachmentsDir: join(fs, "attachments"), maxBatchLines: 16, retryMinMs: 10, retryMaxMs: 50 }, { logger });
    const count = 300;
    const done = new Set<number>();
    const all = Array.from({ length: count }, (_, i) => track(w.accept(sampleRecord(i, 2000)), done, i));

    await until(() => w.status().state === "failing");
    expect(w.status().lastError?.code).toBe("ENOSPC");
    const acked = done.size;
    await Bun.sleep(300);
    expect(done.size).toBe(acked);
    expect(acked).toBeGreaterThan(0);
    expect(acked).toBeLessThan(count);
    expect(w.status().backlog).toBe(count - acked);
    // Acknowledged = on disk, exactly; no torn line left by the failed writes.
    expect(lineIds(messagesDir)).toEqual([...done].sort((a, b) => a - b).map(sampleMessageId));
    const errors = ring.snapshot().filter((l) => l.includes('"level":50'));
    expect(errors.some((l) => l.includes("ENOSPC") && l.includes("unacknowledged"))).toBe(true);
    expect(ring.snapshot().some((l) => l.includes("message 1 x"))).toBe(false);

    rmSync(filler);
    expect(await Promise.all(all)).toEqual(Array(count).fill("written"));
    expect(w.status()).toMatchObject({ state: "running", backlog: 0, linesWritten: count, failingSince: null });
    // One loud error for the whole outage (retries are warnings), and one line when it recovered.
    expect(ring.snapshot().filter((l) => l.includes('"level":50'))).toHaveLength(1);
    expect(ring.snapshot().filter((l) => l.includes("can write again"))).toHaveLength(1);
    expect(lineIds(messagesDir)).toEqual(Array.from({ length: count }, (_, i) => sampleMessageId(i)));
    await w.close();
  });

  test("read-only mid-stream: stops acknowledging with EROFS, resumes when writable again, exactly once", async () => {
    const fs = mountTmpfs("4m");
    const messagesDir = join(fs, "messages");
    const w = await ComplianceWriter.open({ messagesDir, attachmentsDir: join(fs, "attachments"), retryMinMs: 10, retryMaxMs: 50 });
    for (let i = 0; i < 20; i++) await w.accept(sampleRecord(i));
    await remount(fs, "ro");
    const done = new Set<number>();
    const more = Array.from({ length: 30 }, (_, k) => track(w.accept(sampleRecord(20 + k)), done, 20 + k));
    await until(() => w.status().state === "failing");
    expect(w.status().lastError?.code).toBe("EROFS");
    await Bun.sleep(200);
    expect(done.size).toBe(0);
    expect(w.status().backlog).toBe(30);
    // A re-delivery of something already retained is still recognised while failing.
    expect(await w.accept(sampleRecord(3))).toBe("duplicate");

    await remount(fs, "rw");
    expect(await Promise.all(more)).toEqual(Array(30).fill("written"));
    expect(w.status().state).toBe("running");
    expect(lineIds(messagesDir)).toEqual(Array.from({ length: 50 }, (_, i) => sampleMessageId(i)));
    await w.close();
  });

  test("read-only at start: the writer opens failing and catches up once writable", async () => {
    const fs = mountTmpfs("1m");
    const messagesDir = join(fs, "messages");
    const attachmentsDir = join(fs, "attachments");
    mkdirSync(messagesDir);
    mkdirSync(attachmentsDir);
    await remount(fs, "ro");
    const w = await ComplianceWriter.open({ messagesDir, attachmentsDir, retryMinMs: 10, retryMaxMs: 50 });
    expect(w.status().state).toBe("failing");
    expect(w.status().lastError?.code).toBe("EROFS");
    // With nothing to write it keeps probing, so its status turns healthy by itself.
    await remount(fs, "rw");
    await until(() => w.status().state === "running");
    await remount(fs, "ro");
    const pending = [0, 1, 49].map((i) => w.accept(sampleRecord(i)));
    await until(() => w.status().state === "failing");
    await Bun.sleep(100);
    expect(w.status().backlog).toBe(3);
    await remount(fs, "rw");
    expect(await Promise.all(pending)).toEqual(["written", "written", "written"]);
    expect(lineIds(messagesDir)).toEqual([0, 1, 49].map(sampleMessageId));
    await w.close();
  });
});

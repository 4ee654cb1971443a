import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { createLogger } from "../log/logger.ts";
import { ComplianceRecordError, type ComplianceRecord } from "./format.ts";
import { RecentIds, idWords } from "./recent-ids.ts";
import { sampleMessageId, sampleRecord } from "./sample-records.ts";
import { ComplianceAttachmentError, ComplianceBusyError, ComplianceOptionsError, ComplianceWriter, ComplianceWriterClosedError, parseComplianceWriterOptions } from "./writer.ts";

const root = mkdtempSync(join(tmpdir(), "compliance-writer-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDirs = () => {
  const dir = join(root, String(n++));
  return { messagesDir: join(dir, "messages"), attachmentsDir: join(dir, "attachments") };
};

/** Every retention line in write order: rotated files by name, then the current one. */
function readAll(messagesDir: string, prefix = "receivedMessages"): { lines: string[]; files: string[] } {
  const rotated = readdirSync(messagesDir).filter((f) => /^.+\.\d{17}\.log$/.test(f) && f.startsWith(`${prefix}.`)).sort();
  const files = [...rotated, ...(existsSync(join(messagesDir, `${prefix}.log`)) ? [`${prefix}.log`] : [])];
  const lines: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(messagesDir, f), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    lines.push(...text.slice(0, -1).split("\n"));
  }
  return { lines, files };
}
const idsOf = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { message_id: string }).message_id);

describe("options", () => {
  test("defaults", () => {
    expect(parseComplianceWriterOptions({ messagesDir: "/m", attachmentsDir: "/a" })).toMatchObject({ filePrefix: "receivedMessages", maxFileBytes: 1073741824 });
  });
  test.each([
    [{ attachmentsDir: "/a" }, "messagesDir"],
    [{ messagesDir: "", attachmentsDir: "/a" }, "messagesDir"],
    [{ messagesDir: "/m", attachmentsDir: "/a", maxFileBytes: 100 }, "maxFileBytes"],
    [{ messagesDir: "/m", attachmentsDir: "/a", maxFileBytes: 2 ** 41 }, "maxFileBytes"],
    [{ messagesDir: "/m", attachmentsDir: "/a", maxFileBytes: "1GB" }, "maxFileBytes"],
    [{ messagesDir: "/m", attachmentsDir: "/a", filePrefix: "../x" }, "filePrefix"],
    [{ messagesDir: "/m", attachmentsDir: "/a", filePrefix: "a.b" }, "filePrefix"],
    [{ messagesDir: "/m", attachmentsDir: "/a", dedupWindow: 10 }, "dedupWindow"],
    [{ messagesDir: "/m", attachmentsDir: "/a", retryMinMs: 500, retryMaxMs: 100 }, "retryMinMs"],
    [{ messagesDir: "/m", attachmentsDir: "/a", maxFileSize: 5 }, "maxFileSize"],
  ])("%j is refused naming %s", (input, name) => {
    expect(() => parseComplianceWriterOptions(input)).toThrow(ComplianceOptionsError);
    expect(() => parseComplianceWriterOptions(input)).toThrow(name);
  });
  test("open() refuses bad options before touching the disk", async () => {
    const d = freshDirs();
    await expect(ComplianceWriter.open({ ...d, maxFileBytes: 1 })).rejects.toThrow(/maxFileBytes/);
    expect(existsSync(d.messagesDir)).toBe(false);
  });
});

describe("writing", () => {
  test("accept resolves after the line is on disk; status counts it", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open(d);
    expect(await w.accept(sampleRecord(0))).toBe("written");
    const text = readFileSync(join(d.messagesDir, "receivedMessages.log"), "utf8");
    expect(idsOf(text.trimEnd().split("\n"))).toEqual([sampleMessageId(0)]);
    const s = w.status();
    expect(s).toMatchObject({ state: "running", linesWritten: 1, bytesWritten: Buffer.byteLength(text), files: 1, backlog: 0, lastError: null });
    expect(s.lastMessageAt).not.toBeNull();
    await w.close();
  });

  test("concurrent accepts share flushes and keep accept order", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open(d);
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => w.accept(sampleRecord(i))));
    expect(results.every((r) => r === "written")).toBe(true);
    expect(idsOf(readAll(d.messagesDir).lines)).toEqual(Array.from({ length: 2000 }, (_, i) => sampleMessageId(i)));
    await w.close();
  });

  test("an invalid record is rejected at once, naming the field, and does not hold up others", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open(d);
    const bad = { ...sampleRecord(1), content: { text: 5 } } as unknown as ComplianceRecord;
    await expect(w.accept(bad)).rejects.toThrow(ComplianceRecordError);
    await expect(w.accept(bad)).rejects.toThrow(/content\.text/);
    expect(await w.accept(sampleRecord(2))).toBe("written");
    await w.close();
  });

  test("accept after close rejects (the message stays queued on the server)", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open(d);
    await w.close();
    await expect(w.accept(sampleRecord(0))).rejects.toThrow(ComplianceWriterClosedError);
  });

  test("pause holds accepted records unacknowledged; resume writes them", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open(d);
    w.pause();
    let settled = false;
    const p = w.accept(sampleRecord(0)).then((r) => {
      settled = true;
      return r;
    });
    await Bun.sleep(50);
    expect(settled).toBe(false);
    expect(w.status()).toMatchObject({ state: "paused", backlog: 1 });
    w.resume();
    expect(await p).toBe("written");
    expect(w.status()).toMatchObject({ state: "running", backlog: 0 });
    await w.close();
  });

  test("a full backlog refuses further records instead of growing without bound", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open({ ...d, maxBacklog: 2 });
    w.pause();
    const held = [w.accept(sampleRecord(0)), w.accept(sampleRecord(1))];
    await expect(w.accept(sampleRecord(2))).rejects.toThrow(ComplianceBusyError);
    w.resume();
    expect(await Promise.all(held)).toEqual(["written", "written"]);
    expect(await w.accept(sampleRecord(2))).toBe("written");
    await w.close();
  });

  test("a custom prefix names the files", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open({ ...d, filePrefix: "archive-1", maxFileBytes: 4096 });
    for (let i = 0; i < 40; i++) await w.accept(sampleRecord(i));
    await w.close();
    const names = readdirSync(d.messagesDir);
    expect(names).toContain("archive-1.log");
    expect(names.some((f) => /^archive-1\.\d{17}\.log$/.test(f))).toBe(true);
  });
});

describe("rotation", () => {
  test("many records, small files: several files, each within the limit, no line split, none lost or repeated", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open({ ...d, maxFileBytes: 4096 });
    const count = 1500;
    await Promise.all(Array.from({ length: count }, (_, i) => w.accept(sampleRecord(i, 50 + (i % 200)))));
    await w.close();
    const { lines, files } = readAll(d.messagesDir);
    expect(files.length).toBeGreaterThan(50);
    for (const f of files) expect(statSync(join(d.messagesDir, f)).size).toBeLessThanOrEqual(4096);
    for (const l of lines) JSON.parse(l);
    expect(idsOf(lines)).toEqual(Array.from({ length: count }, (_, i) => sampleMessageId(i)));
    expect(w.status().files).toBe(files.length);
  });

  test("rotated names stay unique and in order even within one millisecond", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open({ ...d, maxFileBytes: 4096 }, { now: () => Date.UTC(2026, 0, 1) });
    for (let i = 0; i < 300; i++) await w.accept(sampleRecord(i));
    await w.close();
    const { lines, files } = readAll(d.messagesDir);
    expect(files[0]).toBe("receivedMessages.20260101000000000.log");
    expect(files[1]).toBe("receivedMessages.20260101000000001.log");
    expect(idsOf(lines)).toEqual(Array.from({ length: 300 }, (_, i) => sampleMessageId(i)));
    // A restart continues after the newest stamp rather than reusing one.
    const again = await ComplianceWriter.open({ ...d, maxFileBytes: 4096 }, { now: () => Date.UTC(2026, 0, 1) });
    for (let i = 300; i < 340; i++) await again.accept(sampleRecord(i));
    await again.close();
    expect(idsOf(readAll(d.messagesDir).lines)).toEqual(Array.from({ length: 340 }, (_, i) => sampleMessageId(i)));
  });

  test("a line longer than the limit gets a file of its own rather than being split", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open({ ...d, maxFileBytes: 4096 });
    await w.accept(sampleRecord(0));
    await w.accept(sampleRecord(1, 10_000));
    await w.accept(sampleRecord(2));
    await w.close();
    const { lines, files } = readAll(d.messagesDir);
    expect(files).toHaveLength(3);
    expect(idsOf(lines)).toEqual([0, 1, 2].map(sampleMessageId));
  });
});

describe("re-delivery", () => {
  test("the same message id is written once: sequentially, concurrently, and after a restart", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open(d);
    expect(await w.accept(sampleRecord(1))).toBe("written");
    expect(await w.accept(sampleRecord(1))).toBe("duplicate");
    expect(await Promise.all([w.accept(sampleRecord(2)), w.accept(sampleRecord(2)), w.accept(sampleRecord(2))])).toEqual(["written", "duplicate", "duplicate"]);
    expect(w.status().duplicatesDropped).toBe(3);
    await w.close();
    const again = await ComplianceWriter.open(d);
    expect(await again.accept(sampleRecord(1))).toBe("duplicate");
    expect(await again.accept(sampleRecord(3))).toBe("written");
    await again.close();
    expect(idsOf(readAll(d.messagesDir).lines)).toEqual([1, 2, 3].map(sampleMessageId));
  });

  test("lines written after the index's last entry (crash between the two) are re-indexed at start", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open(d);
    for (let i = 0; i < 10; i++) await w.accept(sampleRecord(i));
    await w.close();
    truncateSync(join(d.messagesDir, ".receivedMessages.ids"), 16 * 6 + 7); // 6 ids and a torn seventh
    const again = await ComplianceWriter.open(d);
    for (let i = 0; i < 12; i++) await again.accept(sampleRecord(i));
    await again.close();
    expect(idsOf(readAll(d.messagesDir).lines)).toEqual(Array.from({ length: 12 }, (_, i) => sampleMessageId(i)));
    expect(statSync(join(d.messagesDir, ".receivedMessages.ids")).size).toBe(12 * 16);
  });

  test("a lost index is rebuilt from the files, across rotated ones", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open({ ...d, maxFileBytes: 4096 });
    for (let i = 0; i < 200; i++) await w.accept(sampleRecord(i));
    await w.close();
    rmSync(join(d.messagesDir, ".receivedMessages.ids"));
    const again = await ComplianceWriter.open({ ...d, maxFileBytes: 4096 });
    const results = await Promise.all(Array.from({ length: 210 }, (_, i) => again.accept(sampleRecord(i))));
    expect(results.filter((r) => r === "duplicate")).toHaveLength(200);
    await again.close();
    expect(idsOf(readAll(d.messagesDir).lines)).toEqual(Array.from({ length: 210 }, (_, i) => sampleMessageId(i)));
  });

  test("the index file stays bounded: compacted to the window once it grows past four windows", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open({ ...d, dedupWindow: 1024 });
    await Promise.all(Array.from({ length: 5000 }, (_, i) => w.accept(sampleRecord(i, 20))));
    expect(statSync(join(d.messagesDir, ".receivedMessages.ids")).size).toBeLessThanOrEqual(4 * 1024 * 16);
    // The most recent window is still recognised after compaction and a restart.
    await w.close();
    const again = await ComplianceWriter.open({ ...d, dedupWindow: 1024 });
    expect(await again.accept(sampleRecord(4990, 20))).toBe("duplicate");
    await again.close();
  });

  test("recent ids: at least the last window is remembered, memory is fixed", () => {
    const ids = new RecentIds(1024);
    for (let i = 0; i < 5000; i++) ids.add(idWords(sampleMessageId(i)));
    for (let i = 5000 - 1024; i < 5000; i++) expect(ids.has(idWords(sampleMessageId(i)))).toBe(true);
    expect(ids.has(idWords(sampleMessageId(0)))).toBe(false);
    expect(ids.has(idWords(sampleMessageId(5000)))).toBe(false);
    const zero = "0".repeat(32);
    expect(ids.has(idWords(zero))).toBe(false);
    ids.add(idWords(zero));
    expect(ids.has(idWords(zero))).toBe(true);
  });
});

describe("repair at start", () => {
  test("a torn last line is cut back to the last complete one", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open(d);
    for (let i = 0; i < 3; i++) await w.accept(sampleRecord(i));
    await w.close();
    const file = join(d.messagesDir, "receivedMessages.log");
    const whole = readFileSync(file, "utf8");
    appendFileSync(file, '{"message":"half a li');
    const again = await ComplianceWriter.open(d);
    expect(readFileSync(file, "utf8")).toBe(whole);
    await again.accept(sampleRecord(3));
    await again.close();
    expect(idsOf(readAll(d.messagesDir).lines)).toEqual([0, 1, 2, 3].map(sampleMessageId));
  });

  test("a file holding only a torn line becomes empty", async () => {
    const d = freshDirs();
    mkdirSync(d.messagesDir, { recursive: true });
    writeFileSync(join(d.messagesDir, "receivedMessages.log"), '{"message_id":"c0a1');
    const w = await ComplianceWriter.open(d);
    expect(readFileSync(join(d.messagesDir, "receivedMessages.log"), "utf8")).toBe("");
    await w.close();
  });
});

describe("attachments", () => {
  const fileRecord = (i: number, data: Uint8Array | (() => AsyncIterable<Uint8Array>), name = "plan.pdf") => {
    const r = sampleRecord(49 + 50 * i);
    if (r.type !== 6000) throw new Error("sample 49 is a file");
    return { ...r, content: { ...r.content, fileName: name }, attachment: data };
  };
  const localFile = (line: string) => (JSON.parse(line) as { file: { localfilename: string } }).file.localfilename;

  test("bytes are stored before the line naming them; streamed attachments work too", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open(d);
    await w.accept(fileRecord(0, new Uint8Array([1, 2, 3])));
    const chunks = async function* () {
      yield new Uint8Array([4, 5]);
      yield new Uint8Array([6]);
    };
    await w.accept(fileRecord(1, chunks));
    await w.close();
    const [a, b] = readAll(d.messagesDir).lines.map(localFile);
    expect([...readFileSync(a!)]).toEqual([1, 2, 3]);
    expect([...readFileSync(b!)]).toEqual([4, 5, 6]);
    expect(readdirSync(d.attachmentsDir).filter((f) => f.startsWith("."))).toEqual([]);
  });

  test("a re-delivery after a crash reuses its own earlier copy; another message's file is never replaced", async () => {
    const d = freshDirs();
    const record = fileRecord(0, new TextEncoder().encode("the report"));
    const expectedName = "attachment_20260101000000006_plan.pdf";
    mkdirSync(d.attachmentsDir, { recursive: true });
    // As left by a crash after the attachment was stored but before its line.
    writeFileSync(join(d.attachmentsDir, expectedName), "the report");
    writeFileSync(join(d.attachmentsDir, ".partial-leftover"), "junk");
    const w = await ComplianceWriter.open(d);
    await w.accept(record);
    // A different message that happens to get the same name.
    await w.accept({ ...fileRecord(0, new TextEncoder().encode("another report")), messageId: "f".repeat(32) });
    await w.close();
    const [first, second] = readAll(d.messagesDir).lines.map(localFile);
    expect(first).toBe(join(d.attachmentsDir, expectedName));
    expect(second).toBe(join(d.attachmentsDir, "attachment_20260101000000006_plan_1.pdf"));
    expect(readFileSync(second!, "utf8")).toBe("another report");
    expect(readdirSync(d.attachmentsDir).sort()).toEqual([expectedName, "attachment_20260101000000006_plan_1.pdf"]);
  });

  test("an attachment source that fails rejects that accept only; the others are written and a re-offer succeeds", async () => {
    const d = freshDirs();
    const { logger, ring } = createLogger({ level: "info", eventLogging: "activity", stdout: false });
    const w = await ComplianceWriter.open(d, { logger });
    let attempts = 0;
    const flaky = async function* () {
      attempts++;
      yield new Uint8Array([1]);
      if (attempts < 2) throw new Error("blob not available yet");
      yield new Uint8Array([2]);
    };
    const before = w.accept(sampleRecord(0));
    const failing = w.accept(fileRecord(0, flaky));
    const after = w.accept(sampleRecord(1));
    await expect(failing).rejects.toThrow(ComplianceAttachmentError);
    expect(await before).toBe("written");
    expect(await after).toBe("written");
    expect(w.status()).toMatchObject({ state: "running", lastError: null, backlog: 0 });
    expect(ring.snapshot().some((l) => l.includes("could not read an attachment"))).toBe(true);
    // The server offers the unacknowledged message again.
    expect(await w.accept(fileRecord(0, flaky))).toBe("written");
    await w.close();
    const lines = readAll(d.messagesDir).lines;
    expect(idsOf(lines)).toEqual([sampleMessageId(0), sampleMessageId(1), sampleMessageId(49)]);
    expect([...readFileSync(localFile(lines[2]!))]).toEqual([1, 2]);
    expect(readdirSync(d.attachmentsDir).filter((f) => f.startsWith("."))).toEqual([]);
  });

  test("a chunk that is not bytes is the source's fault too", async () => {
    const d = freshDirs();
    const w = await ComplianceWriter.open(d);
    const wrong = async function* () {
      yield "text" as unknown as Uint8Array;
    };
    await expect(w.accept(fileRecord(0, wrong))).rejects.toThrow(/not a Uint8Array/);
    await w.close();
  });
});

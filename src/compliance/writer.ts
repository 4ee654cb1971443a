// The compliance writer: turns decrypted message records into retained files (JSON Lines with
// size-based rotation, decrypted attachments) and settles each accept() only once its line is
// durably on disk, so the integration acknowledges to the server exactly what is retained.
import { randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as z from "zod";
import type { Logger } from "../log/logger.ts";
import { type ComplianceRecord, type FileRecord, attachmentFileName, formatLine, formatStamp, parseComplianceRecord } from "./format.ts";
import { RecentIds, idWords } from "./recent-ids.ts";

export const complianceWriterOptionsSchema = z
  .object({
    messagesDir: z.string().min(1).describe("folder of the retention files"),
    attachmentsDir: z.string().min(1).describe("folder of the decrypted attachments"),
    filePrefix: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "must be 1-64 letters, digits, '_' or '-', starting with a letter or digit")
      .default("receivedMessages")
      .describe("name of the current file (<prefix>.log) and of rotated ones"),
    maxFileBytes: z
      .number()
      .int()
      .min(4096)
      .max(2 ** 40)
      .default(1073741824)
      .describe("a file is rotated before a line would take it past this size"),
    dedupWindow: z
      .number()
      .int()
      .min(1024)
      .max(16_777_216)
      .default(262_144)
      .describe("how many of the most recent message ids are remembered to drop re-deliveries"),
    maxBatchLines: z.number().int().min(1).max(65_536).default(4096).describe("most lines flushed by one fsync"),
    maxBacklog: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .default(100_000)
      .describe("most accepted records held in memory while waiting; beyond it accept() refuses (ComplianceBusyError)"),
    retryMinMs: z.number().int().min(1).max(60_000).default(100).describe("first wait before retrying a failed write"),
    retryMaxMs: z.number().int().min(1).max(600_000).default(10_000).describe("longest wait between retries"),
  })
  .strict()
  .refine((o) => o.retryMinMs <= o.retryMaxMs, { path: ["retryMinMs"], message: "must not be above retryMaxMs" });

export type ComplianceWriterOptions = z.input<typeof complianceWriterOptionsSchema>;
type Options = z.output<typeof complianceWriterOptionsSchema>;

export class ComplianceOptionsError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid compliance writer options: ${issues.map((i) => `${i.path || "(options)"}: ${i.message}`).join("; ")}`);
    this.name = "ComplianceOptionsError";
  }
}

export function parseComplianceWriterOptions(input: unknown): Options {
  const parsed = complianceWriterOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ComplianceOptionsError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })));
}

/**
 * The attachment's bytes could not be read from the integration's source: that one accept
 * rejects (the message stays unacknowledged, so the server offers it again later) and the
 * writer carries on with the others rather than stall every message behind it.
 */
export class ComplianceAttachmentError extends Error {
  constructor(
    readonly messageId: string,
    override readonly cause: unknown,
  ) {
    super(`the attachment of message ${messageId} could not be read: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "ComplianceAttachmentError";
  }
}

/** Too many records are waiting (typically while failing): this one was not taken, do not acknowledge it. */
export class ComplianceBusyError extends Error {
  constructor(readonly backlog: number) {
    super(`the compliance writer already holds ${backlog} records waiting to be written`);
    this.name = "ComplianceBusyError";
  }
}

/** accept() after close(): the message was not retained and must not be acknowledged. */
export class ComplianceWriterClosedError extends Error {
  constructor() {
    super("the compliance writer is closed");
    this.name = "ComplianceWriterClosedError";
  }
}

export type AcceptResult = "written" | "duplicate";

export interface ComplianceWriterStatus {
  state: "running" | "paused" | "failing";
  /** Wall-clock time (ISO 8601) the last line was made durable. */
  lastMessageAt: string | null;
  bytesWritten: number;
  linesWritten: number;
  duplicatesDropped: number;
  /** fsyncs of the retention file: linesWritten / flushes is the group-flush batch size. */
  flushes: number;
  /** Retention files present: rotated ones plus the current one. */
  files: number;
  lastError: { code: string; message: string; at: string } | null;
  failingSince: string | null;
  /** Accepted records not yet durable (they stay unacknowledged). */
  backlog: number;
}

interface Entry {
  record: ComplianceRecord;
  resolve: (r: AcceptResult) => void;
  reject: (e: unknown) => void;
  words: Uint32Array;
  attachmentPath?: string;
  line?: Buffer;
  done: boolean;
  /** Later entries with the same id in one batch: settled together with this one. */
  followers?: Entry[];
}

const ROTATED_SUFFIX = /^(\d{17})\.log$/;
const PARTIAL_ATTACHMENT = ".partial-";
const ID_BYTES = 16;

export interface ComplianceWriterDeps {
  logger?: Logger;
  /** Clock for rotation stamps (tests pin it). */
  now?: () => number;
}

export class ComplianceWriter {
  private readonly opts: Options;
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly currentPath: string;
  private readonly indexPath: string;
  private queue: Entry[] = [];
  /** Accepted and not yet settled (the queue may still hold settled entries until it is swept). */
  private backlog = 0;
  private ids: RecentIds;
  private ready = false;
  private pumping = false;
  private paused = false;
  private closed = false;
  private committedSize = 0;
  private indexEntries = 0;
  private lastRotationMs = 0;
  private rotatedFiles = 0;
  private currentExists = false;
  private retryDelay: number;
  private wake: (() => void) | null = null;
  private drained: (() => void)[] = [];
  private counters = { bytesWritten: 0, linesWritten: 0, duplicatesDropped: 0, flushes: 0 };
  private lastMessageAt: number | null = null;
  private lastError: { code: string; message: string; at: number } | null = null;
  private failingSince: number | null = null;

  private constructor(opts: Options, deps: ComplianceWriterDeps) {
    this.opts = opts;
    this.log = deps.logger?.child({ component: "compliance-writer" });
    this.now = deps.now ?? Date.now;
    this.currentPath = join(opts.messagesDir, `${opts.filePrefix}.log`);
    // Hidden, so tooling that globs `<prefix>*` for retention files never picks up this binary file.
    this.indexPath = join(opts.messagesDir, `.${opts.filePrefix}.ids`);
    this.ids = new RecentIds(opts.dedupWindow);
    this.retryDelay = opts.retryMinMs;
  }

  /**
   * Validates the options and prepares the folders (repairing a torn last line and rebuilding
   * the id index). If the folders cannot be written yet, the writer starts `failing` and keeps
   * retrying by itself; accept() works either way.
   */
  static async open(options: ComplianceWriterOptions, deps: ComplianceWriterDeps = {}): Promise<ComplianceWriter> {
    const writer = new ComplianceWriter(parseComplianceWriterOptions(options), deps);
    try {
      await writer.recover();
    } catch (err) {
      writer.fail(err);
      writer.pump();
    }
    return writer;
  }

  /**
   * Retains one decrypted message. Resolves "written" once its line (and attachment) is durable,
   * or "duplicate" when that message id is already retained — acknowledge to the server in both
   * cases. While the writer cannot write the promise stays pending (the server keeps the message
   * queued). Rejects with ComplianceRecordError for a record that can never be retained.
   */
  accept(input: ComplianceRecord): Promise<AcceptResult> {
    if (this.closed) return Promise.reject(new ComplianceWriterClosedError());
    let record: ComplianceRecord;
    try {
      record = parseComplianceRecord(input);
    } catch (err) {
      return Promise.reject(err);
    }
    const words = idWords(record.messageId);
    // Already retained (the table only ever holds durable ids): settle at once, even while failing.
    if (this.ids.has(words)) {
      this.counters.duplicatesDropped++;
      return Promise.resolve("duplicate");
    }
    if (this.backlog >= this.opts.maxBacklog) return Promise.reject(new ComplianceBusyError(this.backlog));
    return new Promise<AcceptResult>((resolve, reject) => {
      this.queue.push({ record, resolve, reject, words, done: false });
      this.backlog++;
      this.pump();
    });
  }

  status(): ComplianceWriterStatus {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      state: this.failingSince !== null ? "failing" : this.paused ? "paused" : "running",
      lastMessageAt: iso(this.lastMessageAt),
      ...this.counters,
      files: this.rotatedFiles + (this.currentExists ? 1 : 0),
      lastError: this.lastError && { code: this.lastError.code, message: this.lastError.message, at: iso(this.lastError.at)! },
      failingSince: iso(this.failingSince),
      backlog: this.backlog,
    };
  }

  /** Stops writing after the current flush; accepted records wait (unacknowledged) until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  /**
   * Finishes the flush in progress, then rejects whatever is still waiting with
   * ComplianceWriterClosedError (those messages stay queued on the server).
   */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    while (this.pumping) await new Promise<void>((r) => this.drained.push(r));
    const left = this.queue.filter((e) => !e.done);
    this.queue = [];
    this.backlog = 0;
    for (const e of left) e.reject(new ComplianceWriterClosedError());
  }

  // -------------------------------------------------------------------------------------------
  // The flush loop: one batch at a time, so lines stay in accept order and every batch costs
  // one fsync of the file (plus one of the id index) however many callers it settles.

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.loop().finally(() => {
      this.pumping = false;
      if (this.hasWork()) this.pump();
      else for (const r of this.drained.splice(0)) r();
    });
  }

  private async loop(): Promise<void> {
    while (this.hasWork()) {
      try {
        if (!this.ready) await this.recover();
        if (this.queue.length > 0) await this.writeBatch(this.queue.slice(0, this.opts.maxBatchLines));
      } catch (err) {
        this.fail(err);
        await this.sleep(this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, this.opts.retryMaxMs);
      } finally {
        if (this.queue.some((e) => e.done)) this.queue = this.queue.filter((e) => !e.done);
      }
    }
  }

  /** Records to write, or (while failing with nothing queued) a recovery to retry so status() turns healthy by itself. */
  private hasWork(): boolean {
    return !this.paused && !this.closed && (this.queue.length > 0 || !this.ready);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(() => {
        this.wake = null;
        r();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        r();
      };
    });
  }

  private fail(err: unknown): void {
    const code = (err as NodeJS.ErrnoException)?.code ?? "EUNKNOWN";
    const message = err instanceof Error ? err.message : String(err);
    const first = this.failingSince === null;
    this.lastError = { code, message, at: this.now() };
    if (first) this.failingSince = this.now();
    // The next attempt starts with the start-up repair: folders re-created, a torn line cut,
    // the id index re-read and re-synced with the files, whatever the failure left behind.
    this.ready = false;
    const fields = { code, error: message, messagesDir: this.opts.messagesDir, attachmentsDir: this.opts.attachmentsDir, backlog: this.backlog, retryInMs: this.retryDelay };
    // Loud on the transition, then once per retry at the (bounded, growing) retry pace.
    if (first) this.log?.error(fields, "compliance writer cannot write: messages stay unacknowledged on the server until it can");
    else this.log?.warn(fields, "compliance writer still cannot write");
  }

  private recovered(): void {
    this.retryDelay = this.opts.retryMinMs;
    if (this.failingSince === null) return;
    this.log?.warn({ failedForMs: this.now() - this.failingSince, backlog: this.backlog }, "compliance writer can write again and is catching up");
    this.failingSince = null;
  }

  private async writeBatch(batch: Entry[]): Promise<void> {
    // Prepare in order: drop re-deliveries, store attachments, format lines. A failure here
    // leaves this entry and the ones after it for the retry.
    const seen = new Map<string, Entry>();
    const ready: Entry[] = [];
    for (const e of batch) e.followers = undefined;
    let failure: unknown = null;
    for (const e of batch) {
      if (this.ids.has(e.words)) {
        this.settle(e, "duplicate");
        continue;
      }
      const first = seen.get(e.record.messageId);
      if (first) {
        (first.followers ??= []).push(e);
        continue;
      }
      try {
        if (e.record.type === 6000 && e.attachmentPath === undefined) e.attachmentPath = await this.storeAttachment(e.record);
        e.line ??= Buffer.from(`${formatLine(e.record, e.attachmentPath)}\n`);
      } catch (err) {
        if (err instanceof ComplianceAttachmentError) {
          this.log?.warn({ messageId: e.record.messageId, error: err.message }, "compliance writer could not read an attachment; the message stays unacknowledged");
          e.done = true;
          this.backlog--;
          e.reject(err);
          continue;
        }
        failure = err;
        break;
      }
      seen.set(e.record.messageId, e);
      ready.push(e);
    }
    let i = 0;
    while (i < ready.length) {
      if (this.committedSize > 0 && this.committedSize + ready[i]!.line!.length > this.opts.maxFileBytes) await this.rotate();
      // Everything that fits the current file (at least one line: a line longer than the limit gets a file of its own).
      let bytes = 0;
      let j = i;
      while (j < ready.length && (j === i || this.committedSize + bytes + ready[j]!.line!.length <= this.opts.maxFileBytes)) bytes += ready[j++]!.line!.length;
      const segment = ready.slice(i, j);
      await this.appendLines(segment, bytes);
      await this.commit(segment);
      i = j;
    }
    if (failure) throw failure;
  }

  private settle(e: Entry, result: AcceptResult): void {
    e.done = true;
    this.backlog--;
    if (result === "duplicate") this.counters.duplicatesDropped++;
    e.resolve(result);
    for (const f of e.followers ?? []) {
      f.done = true;
      this.backlog--;
      this.counters.duplicatesDropped++;
      f.resolve("duplicate");
    }
  }

  /** Appends whole lines and fsyncs; on any error the file is cut back to its last complete line. */
  private async appendLines(segment: Entry[], bytes: number): Promise<void> {
    const buf = Buffer.allocUnsafe(bytes);
    let off = 0;
    for (const e of segment) off += e.line!.copy(buf, off);
    // The file is opened per flush, so the writer holds nothing open between flushes: the
    // volume can be remounted or inspected by other tools at any time.
    const fh = await open(this.currentPath, "a");
    const created = !this.currentExists;
    try {
      const size = (await fh.stat()).size;
      if (size > this.committedSize) await fh.truncate(this.committedSize);
      else this.committedSize = size;
      let written = 0;
      while (written < bytes) written += (await fh.write(buf, written, bytes - written)).bytesWritten;
      await fh.sync();
    } catch (err) {
      await fh.truncate(this.committedSize).catch(() => undefined);
      throw err;
    } finally {
      await fh.close().catch(() => undefined);
    }
    if (created) {
      await syncDir(this.opts.messagesDir);
      this.currentExists = true;
    }
    this.recovered();
    this.committedSize += bytes;
    this.counters.bytesWritten += bytes;
    this.counters.linesWritten += segment.length;
    this.counters.flushes++;
    this.lastMessageAt = this.now();
  }

  /** After the lines are durable: remember their ids (memory and index file), then settle. */
  private async commit(segment: Entry[]): Promise<void> {
    const ids = Buffer.allocUnsafe(segment.length * ID_BYTES);
    segment.forEach((e, k) => {
      this.ids.add(e.words);
      ids.write(e.record.messageId, k * ID_BYTES, "hex");
    });
    let indexError: unknown = null;
    try {
      await appendDurably(this.indexPath, ids);
      this.indexEntries += segment.length;
    } catch (err) {
      indexError = err;
    }
    for (const e of segment) this.settle(e, "written");
    if (indexError) {
      // The lines are retained, so their callers are settled; recover() re-syncs the index
      // with the files before anything else is written.
      throw indexError;
    }
    if (this.indexEntries > 4 * this.opts.dedupWindow) await this.compactIndex();
  }

  private async rotate(): Promise<void> {
    let ms = Math.max(this.now(), this.lastRotationMs + 1);
    let target = this.rotatedPath(ms);
    while (await exists(target)) target = this.rotatedPath(++ms);
    try {
      await rename(this.currentPath, target);
      await syncDir(this.opts.messagesDir);
      this.lastRotationMs = ms;
      this.rotatedFiles++;
    } catch (err) {
      // Moved away by someone else: there is nothing to rotate, a new file starts either way.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    this.currentExists = false;
    this.committedSize = 0;
  }

  private rotatedPath(ms: number): string {
    return join(this.opts.messagesDir, `${this.opts.filePrefix}.${formatStamp(ms)}.log`);
  }

  /**
   * Decrypted bytes go to a temporary file, are fsynced, then hard-linked under their final
   * name (never replacing a file). The name derives from the server receive time, so a
   * re-delivery after a crash finds its own earlier copy (same bytes) and reuses it; another
   * message's file under the same name gets a numbered suffix instead.
   */
  private async storeAttachment(r: FileRecord): Promise<string> {
    const dir = this.opts.attachmentsDir;
    const tmp = join(dir, `${PARTIAL_ATTACHMENT}${r.messageId}-${randomBytes(4).toString("hex")}`);
    try {
      const fh = await open(tmp, "wx");
      try {
        if (r.attachment instanceof Uint8Array) await writeAll(fh, r.attachment);
        else await copySource(r.messageId, r.attachment, fh);
        await fh.sync();
      } finally {
        await fh.close();
      }
      for (let n = 0; ; n++) {
        const target = resolve(dir, attachmentFileName(r.receivedAtUs, r.content.fileName, n === 0 ? "" : `_${n}`));
        try {
          await link(tmp, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
          if (!(await sameContent(tmp, target))) continue;
        }
        await syncDir(dir);
        return target;
      }
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Start-up and repair.

  /**
   * Brings the folders to a known state: a torn last line (a write cut short by a crash or a
   * full disk) is truncated away, left-over partial attachments are removed, and the recent
   * ids are loaded from the index file plus any lines written after its last entry.
   */
  private async recover(): Promise<void> {
    const { messagesDir, attachmentsDir, filePrefix, dedupWindow } = this.opts;
    await mkdir(messagesDir, { recursive: true });
    await mkdir(attachmentsDir, { recursive: true });

    const rotated = (await readdir(messagesDir))
      .filter((n) => n.startsWith(`${filePrefix}.`) && ROTATED_SUFFIX.test(n.slice(filePrefix.length + 1)))
      .sort();
    this.rotatedFiles = rotated.length;
    const newest = rotated.at(-1);
    if (newest) this.lastRotationMs = Math.max(this.lastRotationMs, stampMs(newest.slice(filePrefix.length + 1, filePrefix.length + 18)));

    this.committedSize = await truncateTornLine(this.currentPath);
    this.currentExists = this.committedSize >= 0;
    if (this.committedSize < 0) this.committedSize = 0;

    for (const name of await readdir(attachmentsDir)) if (name.startsWith(PARTIAL_ATTACHMENT)) await unlink(join(attachmentsDir, name));

    // Ids: the index's tail first, then the lines after its last id (at most one flush's worth
    // unless the index was lost, in which case up to a window of lines is read back).
    const ids = new RecentIds(dedupWindow);
    const indexed = await readIndexTail(this.indexPath, 2 * dedupWindow);
    this.indexEntries = indexed.total;
    for (let k = 0; k < indexed.bytes.length; k += ID_BYTES) ids.add(wordsAt(indexed.bytes, k));
    const files = [...rotated.map((n) => join(messagesDir, n)), ...(this.currentExists ? [this.currentPath] : [])];
    const missing: string[] = [];
    scan: for (const file of files.reverse()) {
      for await (const line of linesBackward(file)) {
        const id = messageIdOf(line);
        if (id === null) continue;
        if (ids.has(idWords(id)) || missing.length >= dedupWindow) break scan;
        missing.push(id);
      }
    }
    if (missing.length > 0) {
      missing.reverse();
      for (const id of missing) ids.add(idWords(id));
      await appendDurably(this.indexPath, Buffer.from(missing.join(""), "hex"));
      this.indexEntries += missing.length;
      this.log?.info({ lines: missing.length }, "compliance writer re-indexed lines written after its last index entry");
    }
    // Proves the folder is writable again (read-only or permission errors show here).
    await appendDurably(this.indexPath, new Uint8Array(0));
    this.ids = ids;
    if (this.indexEntries > 4 * dedupWindow) await this.compactIndex();
    this.ready = true;
    // With records waiting, only a written line proves recovery (a full disk passes the probe).
    if (this.queue.length === 0) this.recovered();
  }

  /** Keeps the index file bounded: rewrites it with the last window of ids (atomic rename). */
  private async compactIndex(): Promise<void> {
    const keep = await readIndexTail(this.indexPath, this.opts.dedupWindow);
    const tmp = `${this.indexPath}.tmp`;
    const fh = await open(tmp, "w");
    try {
      await writeAll(fh, keep.bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.indexPath);
    await syncDir(this.opts.messagesDir);
    this.indexEntries = keep.bytes.length / ID_BYTES;
  }
}

// ---------------------------------------------------------------------------------------------
// File helpers.

async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
}

/** Copies the integration's chunks; its failures are told apart from our own write failures. */
async function copySource(messageId: string, source: () => AsyncIterable<Uint8Array>, fh: FileHandle): Promise<void> {
  let iterator: AsyncIterator<Uint8Array>;
  try {
    iterator = source()[Symbol.asyncIterator]();
  } catch (err) {
    throw new ComplianceAttachmentError(messageId, err);
  }
  let finished = false;
  try {
    for (;;) {
      let step: IteratorResult<Uint8Array>;
      try {
        step = await iterator.next();
      } catch (err) {
        finished = true;
        throw new ComplianceAttachmentError(messageId, err);
      }
      if (step.done) {
        finished = true;
        return;
      }
      if (!(step.value instanceof Uint8Array)) throw new ComplianceAttachmentError(messageId, new TypeError("a chunk is not a Uint8Array"));
      await writeAll(fh, step.value);
    }
  } finally {
    // Our own write failed part-way: let the source release what it holds.
    if (!finished) await Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

async function appendDurably(path: string, data: Uint8Array): Promise<void> {
  const fh = await open(path, "a");
  try {
    await writeAll(fh, data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, "r"), open(b, "r")]);
  try {
    if ((await fa.stat()).size !== (await fb.stat()).size) return false;
    const ba = Buffer.allocUnsafe(65536);
    const bb = Buffer.allocUnsafe(65536);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.length), fb.read(bb, 0, bb.length)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** Cuts the file after its last newline; returns its resulting size, or -1 if it does not exist. */
async function truncateTornLine(path: string): Promise<number> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r+");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return -1;
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    let end = size;
    const buf = Buffer.allocUnsafe(65536);
    while (end > 0) {
      const start = Math.max(0, end - buf.length);
      const { bytesRead } = await fh.read(buf, 0, end - start, start);
      const nl = buf.subarray(0, bytesRead).lastIndexOf(10);
      if (nl >= 0) {
        end = start + nl + 1;
        break;
      }
      end = start;
    }
    if (end < size) {
      await fh.truncate(end);
      await fh.sync();
    }
    return end;
  } finally {
    await fh.close();
  }
}

/** Lines of a file from its last to its first (each still ending with its newline). */
async function* linesBackward(path: string): AsyncGenerator<string> {
  const fh = await open(path, "r");
  try {
    let pos = (await fh.stat()).size;
    let head = Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(65536);
    while (pos > 0) {
      const start = Math.max(0, pos - buf.length);
      const { bytesRead } = await fh.read(buf, 0, pos - start, start);
      pos = start;
      // data = bytes [start, end of the not yet yielded part); its last byte ends a line.
      const data = Buffer.concat([buf.subarray(0, bytesRead), head]);
      let end = data.length;
      while (end >= 2) {
        const nl = data.lastIndexOf(10, end - 2);
        if (nl < 0) break;
        yield data.toString("utf8", nl + 1, end);
        end = nl + 1;
      }
      head = Buffer.from(data.subarray(0, end));
    }
    if (head.length > 0) yield head.toString("utf8");
  } finally {
    await fh.close();
  }
}

function messageIdOf(line: string): string | null {
  try {
    const id = (JSON.parse(line) as { message_id?: unknown }).message_id;
    return typeof id === "string" && /^[0-9a-f]{32}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}

async function readIndexTail(path: string, maxIds: number): Promise<{ bytes: Buffer; total: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r+");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { bytes: Buffer.alloc(0), total: 0 };
    throw err;
  }
  try {
    let size = (await fh.stat()).size;
    // A torn last entry (crash mid-append) is dropped; its line is found again in the files.
    if (size % ID_BYTES !== 0) {
      size -= size % ID_BYTES;
      await fh.truncate(size);
    }
    const len = Math.min(size, maxIds * ID_BYTES);
    const bytes = Buffer.alloc(len);
    if (len > 0) await fh.read(bytes, 0, len, size - len);
    return { bytes, total: size / ID_BYTES };
  } finally {
    await fh.close();
  }
}

function wordsAt(buf: Buffer, off: number): Uint32Array {
  return Uint32Array.of(buf.readUInt32BE(off), buf.readUInt32BE(off + 4), buf.readUInt32BE(off + 8), buf.readUInt32BE(off + 12));
}

function stampMs(stamp: string): number {
  const n = (a: number, b: number) => Number(stamp.slice(a, b));
  return Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14), n(14, 17));
}

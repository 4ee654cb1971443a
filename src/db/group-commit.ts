// The group-commit writer: callers queue synchronous write functions; the
// writer runs a batch of them in one transaction (one fsync at
// synchronous=FULL) and settles each caller only after the commit is durable.
// A caller whose function throws is rolled back to its own savepoint, so the
// rest of the batch still commits.
import type { Database } from "bun:sqlite";

interface Job<T> {
  fn: () => T;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export interface GroupCommitStats {
  batches: number;
  writes: number;
  failedCommits: number;
}

export class GroupCommitWriter {
  private queue: Job<unknown>[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: GroupCommitStats = { batches: 0, writes: 0, failedCommits: 0 };
  private readonly begin;
  private readonly commit;
  private readonly rollback;

  constructor(
    private readonly conn: Database,
    private readonly opts: { delayMs: number; maxBatch: number },
  ) {
    this.begin = conn.prepare("BEGIN IMMEDIATE");
    this.commit = conn.prepare("COMMIT");
    this.rollback = conn.prepare("ROLLBACK");
  }

  /** Queues a write; resolves with its result once the batch holding it is committed. */
  run<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error("the writer is closed"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve, reject } as Job<unknown>);
      if (this.queue.length >= this.opts.maxBatch) this.flushSoon(0);
      else this.flushSoon(this.opts.delayMs);
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  private flushSoon(delay: number) {
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = delay === 0 ? setTimeout(() => this.flush(), 0) : setTimeout(() => this.flush(), delay);
  }

  /** Commits everything queued now, in batches of at most maxBatch. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.commitBatch(batch);
    }
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private commitBatch(batch: Job<unknown>[]) {
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      this.begin.run();
    } catch (e) {
      for (const job of batch) job.reject(e);
      this.stats.failedCommits++;
      return;
    }
    for (const job of batch) {
      this.conn.run("SAVEPOINT w");
      try {
        const value = job.fn();
        this.conn.run("RELEASE w");
        results.push({ ok: true, value });
      } catch (e) {
        this.conn.run("ROLLBACK TO w");
        this.conn.run("RELEASE w");
        results.push({ ok: false, value: e });
      }
    }
    try {
      this.commit.run();
    } catch (e) {
      // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
      try {
        this.rollback.run();
      } catch {
        /* already rolled back by SQLite */
      }
      this.stats.failedCommits++;
      for (const job of batch) job.reject(e);
      return;
    }
    this.stats.batches++;
    this.stats.writes += batch.length;
    batch.forEach((job, i) => {
      const r = results[i]!;
      if (r.ok) job.resolve(r.value);
      else job.reject(r.value);
    });
  }

  /** Resolves when everything queued so far is committed. */
  drain(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.flushSoon(0);
    });
  }

  /** Commits what is queued and refuses further writes. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}

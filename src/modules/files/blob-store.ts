// Encrypted chunks on disk under <dataDir>/blobs/<2 hex>/<sha256 hex>, named by the hash of
// their ciphertext. Bodies are streamed to a temporary file while hashed, then renamed into
// place, so memory stays flat whatever the file size and a torn write never has a blob name.
import { mkdirSync, rmSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { AppContext } from "../../app/context.ts";
import { AppError } from "../../http/errors.ts";

export class BlobStore {
  readonly root: string;
  private readonly tmp: string;
  private readonly dirs = new Set<string>();

  constructor(dataDir: string) {
    this.root = join(dataDir, "blobs");
    this.tmp = join(this.root, "tmp");
    mkdirSync(this.tmp, { recursive: true });
    // Temporary files left by a crash mid-upload belong to no chunk row: drop them.
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true });
  }

  /** Chunks stored since start, to space out full garbage collections. */
  private puts = 0;

  pathOf(hash: string): string {
    return join(this.root, hash.slice(0, 2), hash);
  }

  /** Streams exactly `expected` bytes into the store; fewer or more is refused and leaves nothing behind. */
  async put(body: ReadableStream<Uint8Array>, expected: number): Promise<{ hash: string; length: number }> {
    const tmp = join(this.tmp, crypto.randomUUID());
    const sink = Bun.file(tmp).writer({ highWaterMark: 1024 * 1024 });
    const hasher = new Bun.CryptoHasher("sha256");
    let length = 0;
    try {
      for await (const part of body) {
        length += part.byteLength;
        if (length > expected) throw new AppError("payload_too_large", `this chunk is ${expected} bytes; more was sent`, { limitBytes: expected });
        hasher.update(part);
        sink.write(part);
      }
      await sink.end();
      if (length !== expected) throw new AppError("validation_failed", `body: this chunk is ${expected} bytes, got ${length}`, [{ path: "body", rule: "length", message: `expected ${expected} bytes, got ${length}` }]);
      // A chunk is acknowledged (and listed as received) only once its bytes are on disk.
      const fh = await open(tmp, "r");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const hash = hasher.digest("hex");
      const dir = join(this.root, hash.slice(0, 2));
      if (!this.dirs.has(dir)) {
        mkdirSync(dir, { recursive: true });
        this.dirs.add(dir);
      }
      await rename(tmp, this.pathOf(hash));
      // ...and its name too (the directory entry), before the chunk row commits.
      const dh = await open(dir, "r");
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
      // The body arrived as many short-lived buffers: collect them now rather than let a fast
      // upload grow the heap by the garbage of a few hundred chunks first. A quick collection
      // after every chunk and a full one every 32 keeps a 1 GB upload's RSS growth near 50 MiB
      // (a full collection every chunk halves that but also halves upload speed).
      Bun.gc(++this.puts % 32 === 0);
      return { hash, length };
    } catch (e) {
      try {
        await sink.end();
      } catch {
        // already closed
      }
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  async remove(hash: string): Promise<void> {
    await unlink(this.pathOf(hash)).catch(() => undefined);
  }
}

const stores = new WeakMap<AppContext, BlobStore>();
export function blobStore(ctx: AppContext): BlobStore {
  let s = stores.get(ctx);
  if (!s) stores.set(ctx, (s = new BlobStore(ctx.config.dataDir)));
  return s;
}

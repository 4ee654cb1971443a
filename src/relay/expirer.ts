// Deletes every packet at its expiration, delivered or not (the index on expires_at
// makes the check a single seek); wraps go with their packet (foreign-key cascade).
import type { AppContext } from "../app/context.ts";

const INTERVAL_MS = 250;
const BATCH = 5000;

export function startExpirer(ctx: AppContext): { stop(): void } {
  const due = ctx.storage.readConns[0]!.prepare<{ seq: number }, [number]>("select seq from packets where expires_at <= ? limit 1");
  const remove = ctx.storage.writerConn.prepare("delete from packets where seq in (select seq from packets where expires_at <= ? order by expires_at limit ?)");
  const removeBundles = ctx.storage.writerConn.prepare("delete from device_sync_bundles where expires_at <= ?");
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      for (;;) {
        const now = Date.now();
        if (!due.get(now)) break;
        const n = await ctx.writer.run(() => {
          removeBundles.run(now);
          return remove.run(now, BATCH).changes;
        });
        ctx.log.logger.debug({ packets: n }, "expired packets deleted");
        if (n < BATCH) break;
      }
    } catch (e) {
      ctx.log.logger.error({ err: { message: (e as Error).message } }, "expirer failed; retrying");
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), INTERVAL_MS);
  return {
    stop() {
      clearInterval(timer);
    },
  };
}

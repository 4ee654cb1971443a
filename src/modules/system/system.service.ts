// Readiness: the writer can commit, migrations are applied, and every
// registered dependency (calling node, compliance writer) reports healthy.
import type { AppContext } from "../../app/context.ts";
import { heartbeat } from "../../db/schema/index.ts";
import { pendingMigrations } from "../../db/migrate.ts";

export async function readiness(ctx: AppContext): Promise<{ ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> }> {
  const checks: Record<string, { ok: boolean; detail?: string }> = {};
  try {
    const at = Date.now();
    await withTimeout(
      ctx.writer.run(() => ctx.storage.writeDb.insert(heartbeat).values({ id: 1, at }).onConflictDoUpdate({ target: heartbeat.id, set: { at } }).run()),
      2000,
    );
    checks.database = { ok: true };
  } catch (e) {
    checks.database = { ok: false, detail: `cannot commit: ${(e as Error).message}` };
  }
  const pending = pendingMigrations(ctx.storage);
  checks.migrations = pending === 0 ? { ok: true } : { ok: false, detail: `${pending} migration(s) not applied` };
  for (const [name, check] of ctx.readiness) {
    try {
      checks[name] = await check();
    } catch (e) {
      checks[name] = { ok: false, detail: (e as Error).message };
    }
  }
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no commit within ${ms} ms`)), ms))]);
}

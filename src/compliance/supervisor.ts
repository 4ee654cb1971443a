// Runs the local compliance bots inside `outpost serve`: one per network whose writer is
// local and not paused, restarted with backoff when it cannot start, reported in /readyz.
import type { AppContext } from "../app/context.ts";
import { ComplianceBot, type ComplianceBotStatus } from "./bot.ts";

interface Slot {
  bot?: ComplianceBot;
  starting?: Promise<void>;
  retry?: ReturnType<typeof setTimeout>;
  delayMs: number;
  lastStartError?: string;
}

export class ComplianceSupervisor {
  private readonly slots = new Map<string, Slot>();
  private stopped = false;

  constructor(private readonly ctx: AppContext) {}

  /** Starts every configured local writer (the readiness check appears with the first one). */
  async startAll() {
    const { localWriterRows } = await import("../modules/compliance/compliance.service.ts");
    for (const row of localWriterRows(this.ctx)) if (!row.paused) this.start(row.networkId);
  }

  readiness(): { ok: boolean; detail?: string } {
    const problems: string[] = [];
    const parts: string[] = [];
    for (const [networkId, slot] of this.slots) {
      const s = slot.bot?.status();
      if (!s) {
        problems.push(`${networkId}: not running${slot.lastStartError ? ` (${slot.lastStartError})` : ""}`);
        continue;
      }
      if (s.state === "failing") problems.push(`${networkId}: failing since ${s.failingSince}: ${s.lastError?.code} ${s.lastError?.message}`);
      else parts.push(`${networkId}: ${s.state}, ${s.linesWritten} lines, backlog ${s.backlog}`);
    }
    return problems.length ? { ok: false, detail: problems.concat(parts).join("; ") } : { ok: true, ...(parts.length ? { detail: parts.join("; ") } : {}) };
  }

  status(networkId: string): ComplianceBotStatus | undefined {
    return this.slots.get(networkId)?.bot?.status();
  }

  start(networkId: string) {
    if (this.stopped) return;
    let slot = this.slots.get(networkId);
    if (!slot) this.slots.set(networkId, (slot = { delayMs: 500 }));
    if (!this.ctx.readiness.has("compliance")) this.ctx.readiness.set("compliance", () => this.readiness());
    if (slot.bot || slot.starting) return;
    const s = slot;
    s.starting = this.launch(networkId, s).finally(() => {
      s.starting = undefined;
    });
  }

  private async launch(networkId: string, slot: Slot) {
    const { findComplianceWriter, botStatePath } = await import("../modules/compliance/compliance.service.ts");
    const row = findComplianceWriter(this.ctx, networkId);
    if (!row || row.paused || row.mode !== "local" || this.slots.get(networkId) !== slot) return;
    const log = this.ctx.log.logger.child({ network: networkId });
    try {
      slot.bot = await ComplianceBot.start({
        statePath: botStatePath(this.ctx, networkId),
        writer: row.options as { messagesDir: string; attachmentsDir: string },
        logger: log,
        ...(this.ctx.selfUrl ? { serverUrl: this.ctx.selfUrl } : {}),
      });
      slot.delayMs = 500;
      slot.lastStartError = undefined;
      log.info("compliance writer started");
    } catch (e) {
      slot.lastStartError = (e as Error).message;
      log.error({ err: { message: (e as Error).message }, retryInMs: slot.delayMs }, "compliance writer could not start; messages stay queued on the relay");
      if (this.stopped || this.slots.get(networkId) !== slot) return;
      slot.retry = setTimeout(() => {
        slot.retry = undefined;
        this.start(networkId);
      }, slot.delayMs);
      slot.delayMs = Math.min(slot.delayMs * 2, 30_000);
    }
  }

  /** Follows the stored paused flag. */
  apply(networkId: string) {
    void (async () => {
      const { findComplianceWriter } = await import("../modules/compliance/compliance.service.ts");
      const row = findComplianceWriter(this.ctx, networkId);
      if (!row || row.mode !== "local") return;
      if (row.paused) await this.stop(networkId);
      else this.start(networkId);
    })();
  }

  async stop(networkId: string) {
    const slot = this.slots.get(networkId);
    if (!slot) return;
    this.slots.delete(networkId);
    // No writer left to report on (paused or deleted ones are not failures).
    if (this.slots.size === 0) this.ctx.readiness.delete("compliance");
    if (slot.retry) clearTimeout(slot.retry);
    await slot.starting;
    await slot.bot?.close();
  }

  async restart(networkId: string) {
    await this.stop(networkId);
    this.start(networkId);
    await this.slots.get(networkId)?.starting;
  }

  async stopAll() {
    this.stopped = true;
    await Promise.all([...this.slots.keys()].map((id) => this.stop(id)));
  }
}

const supervisors = new WeakMap<AppContext, ComplianceSupervisor>();
export function complianceSupervisor(ctx: AppContext): ComplianceSupervisor {
  let s = supervisors.get(ctx);
  if (!s) supervisors.set(ctx, (s = new ComplianceSupervisor(ctx)));
  return s;
}

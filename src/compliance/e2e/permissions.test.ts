// Permission denied (EACCES): root ignores permission bits, so the writer runs in a child
// process as the unprivileged user `nobody` against folders it may not write; once they are
// opened up it must resume by itself and retain every message exactly once.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { sampleMessageId } from "../sample-records.ts";

const child = fileURLToPath(new URL("./writer-child.ts", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "compliance-perm-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
chmodSync(root, 0o755);

// Needs root (to switch to nobody) and setpriv; otherwise this scenario cannot be staged.
const probe = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true"], { stderr: "pipe" });
const canDrop = probe.exitCode === 0 && process.getuid?.() === 0;

describe.skipIf(!canDrop)(`permission denied${canDrop ? "" : ` — SKIPPED: cannot switch to user nobody (${probe.stderr.toString().trim() || "not root"})`}`, () => {
  test("EACCES: no acknowledgement while denied, failing with the error, then every message exactly once", async () => {
    const messagesDir = join(root, "messages");
    const attachmentsDir = join(root, "attachments");
    mkdirSync(messagesDir, { mode: 0o555 });
    mkdirSync(attachmentsDir, { mode: 0o555 });
    const count = 500;
    const proc = Bun.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, child, messagesDir, attachmentsDir, String(count), "65536"], {
      stdout: "pipe",
      stderr: "inherit",
      env: { ...process.env, STATUS_EVERY_MS: "20" },
    });
    const acked = new Set<number>();
    const states: string[] = [];
    let opened = false;
    let done = false;
    let rest = "";
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      rest += decoder.decode(chunk, { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const l of lines) {
        if (l.startsWith("ack ")) acked.add(Number(l.slice(4)));
        else if (l.startsWith("status ")) states.push(l);
        else if (l.startsWith("done ")) done = true;
      }
      // Open the folders up only after the writer has reported the denial for a while.
      if (!opened && states.filter((s) => s === "status failing EACCES").length >= 10) {
        expect(acked.size).toBe(0);
        chmodSync(messagesDir, 0o777);
        chmodSync(attachmentsDir, 0o777);
        opened = true;
      }
    }
    expect(await proc.exited).toBe(0);
    expect(opened).toBe(true);
    expect(done).toBe(true);
    expect(acked.size).toBe(count);
    expect(states.at(-1)).toBe("status running EACCES");
    const ids = readdirSync(messagesDir)
      .filter((f) => f.endsWith(".log"))
      .flatMap((f) => readFileSync(join(messagesDir, f), "utf8").trimEnd().split("\n"))
      .map((l) => (JSON.parse(l) as { message_id: string }).message_id);
    expect(ids.sort()).toEqual(Array.from({ length: count }, (_, i) => sampleMessageId(i)).sort());
  });
});

// Golden tests: every message type, written through the real writer, must produce exactly the
// lines in fixtures/compliance/golden/*.jsonl (byte for byte, so key order and value types
// count). The only normalisation is the temporary attachments folder, shown as <attachments>.
// UPDATE_GOLDEN=1 rewrites the fixtures; review the diff against the guide before committing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { MessageType } from "../crypto/payload.ts";
import { goldenRecords } from "./golden-records.ts";
import { ComplianceWriter } from "./writer.ts";

const goldenDir = fileURLToPath(new URL("../../fixtures/compliance/golden/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "compliance-golden-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("golden output", async () => {
  const attachmentsDir = join(tmp, "attachments");
  const writer = await ComplianceWriter.open({ messagesDir: join(tmp, "messages"), attachmentsDir });
  for (const { record } of goldenRecords) expect(await writer.accept(record)).toBe("written");
  await writer.close();
  const lines = readFileSync(join(tmp, "messages", "receivedMessages.log"), "utf8").split("\n").slice(0, -1);
  const byFile = new Map<string, string[]>();
  goldenRecords.forEach(({ file }, i) => byFile.set(file, [...(byFile.get(file) ?? []), lines[i]!.replaceAll(attachmentsDir, "<attachments>")]));

  test("every message type code has at least one golden line", () => {
    const covered = new Set(goldenRecords.map((g) => g.record.type));
    expect([...Object.values(MessageType)].filter((t) => !covered.has(t))).toEqual([]);
    expect(lines).toHaveLength(goldenRecords.length);
  });

  for (const [file, got] of byFile) {
    test(`${file}.jsonl`, () => {
      const path = join(goldenDir, `${file}.jsonl`);
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(path, `${got.join("\n")}\n`);
      expect(got).toEqual(readFileSync(path, "utf8").split("\n").slice(0, -1));
    });
  }

  test("the attachment named in the file line holds the decrypted bytes", () => {
    const first = JSON.parse(lines[goldenRecords.findIndex((g) => g.record.type === 6000)]!) as { file: { localfilename: string } };
    expect(first.file.localfilename).toBe(join(attachmentsDir, "attachment_20230804191544790_claymation.gif"));
    expect(readFileSync(first.file.localfilename, "utf8")).toBe("GIF89a fake gif bytes");
  });
});

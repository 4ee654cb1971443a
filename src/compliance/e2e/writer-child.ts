// A compliance device in miniature for the crash test: offers records 0..count-1 (always the
// same ones) to a writer, at most `inFlight` at a time, and prints "ack <i>" when the writer
// settles one — the moment the real integration would acknowledge it to the server.
// With STATUS_EVERY_MS set it also prints "status <state> <last error code>" at that pace.
// Usage: bun writer-child.ts <messagesDir> <attachmentsDir> <count> <maxFileBytes> [inFlight]
import { sampleRecord } from "../sample-records.ts";
import { ComplianceWriter } from "../writer.ts";

const [messagesDir, attachmentsDir, count, maxFileBytes, inFlight = "256"] = process.argv.slice(2);
const writer = await ComplianceWriter.open({ messagesDir: messagesDir!, attachmentsDir: attachmentsDir!, maxFileBytes: Number(maxFileBytes), retryMinMs: 10, retryMaxMs: 50 });
const every = Number(process.env.STATUS_EVERY_MS ?? 0);
const report = () => {
  const s = writer.status();
  process.stdout.write(`status ${s.state} ${s.lastError?.code ?? "-"}\n`);
};
const timer = every > 0 ? setInterval(report, every) : undefined;
const total = Number(count);
let next = 0;
let written = 0;
let duplicates = 0;

async function lane(): Promise<void> {
  while (next < total) {
    const i = next++;
    const result = await writer.accept(sampleRecord(i));
    if (result === "written") written++;
    else duplicates++;
    process.stdout.write(`ack ${i}\n`);
  }
}

await Promise.all(Array.from({ length: Number(inFlight) }, lane));
clearInterval(timer);
if (timer) report();
await writer.close();
process.stdout.write(`done ${written} ${duplicates}\n`);

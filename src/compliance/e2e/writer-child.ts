// A compliance device in miniature for the crash test: offers records 0..count-1 (always the
// same ones) to a writer, at most `inFlight` at a time, and prints "ack <i>" when the writer
// settles one — the moment the real integration would acknowledge it to the server.
// Usage: bun writer-child.ts <messagesDir> <attachmentsDir> <count> <maxFileBytes> [inFlight]
import { sampleRecord } from "../sample-records.ts";
import { ComplianceWriter } from "../writer.ts";

const [messagesDir, attachmentsDir, count, maxFileBytes, inFlight = "256"] = process.argv.slice(2);
const writer = await ComplianceWriter.open({ messagesDir: messagesDir!, attachmentsDir: attachmentsDir!, maxFileBytes: Number(maxFileBytes) });
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
await writer.close();
process.stdout.write(`done ${written} ${duplicates}\n`);

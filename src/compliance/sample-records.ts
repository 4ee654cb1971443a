// Deterministic streams of records for tests and the benchmark: record i always has the same
// id and content, so a replay after a crash offers exactly the same messages again.
import type { ComplianceRecord } from "./format.ts";

const room = `S${"ab".repeat(31)}c`;
const dm = "cd".repeat(32);
const BASE_US = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

export function sampleMessageId(i: number): string {
  return `c0a1${i.toString(16).padStart(28, "0")}`;
}

/** Mostly texts, with a file (small attachment) every 50th record and DMs every 3rd. */
export function sampleRecord(i: number, textBytes = 120): ComplianceRecord {
  const direct = i % 3 === 0;
  const envelope = {
    messageId: sampleMessageId(i),
    receivedAtUs: BASE_US + i * 137,
    sender: `user${i % 97}@example.org`,
    senderType: i % 11 === 0 ? ("guest" as const) : ("normal" as const),
    receiver: direct ? `user${(i + 1) % 97}@example.org` : undefined,
    conversationId: direct ? dm : room,
    ttl: 86_400,
    bor: 0,
    linkPreviews: i % 2 === 0,
  };
  if (i % 50 === 49) {
    return { ...envelope, type: 6000, content: { fileName: `report-${i}.pdf`, fileId: `file-${i}` }, attachment: new TextEncoder().encode(`%PDF attachment ${i}`) };
  }
  const text = `message ${i} `.padEnd(textBytes, "x");
  return { ...envelope, type: 1000, content: { text } };
}

import { describe, expect, test } from "vitest";
import {
  ComplianceRecordError,
  MAX_NAME_BYTES,
  attachmentFileName,
  formatIsoTime,
  formatLine,
  formatMsgTs,
  formatShortTime,
  formatStamp,
  linksInText,
  parseComplianceRecord,
  safeFileName,
} from "./format.ts";
import { goldenRecords } from "./golden-records.ts";

const bytes = (s: string) => new TextEncoder().encode(s).length;
const dm = "7ad65d17b945d7672190ecab6902fdd06eff162b91adfcda23df3b2ff95875e8";
const room = `S${"1".repeat(63)}`;
const text = (over: Record<string, unknown> = {}, content: unknown = { text: "hello" }) => ({
  messageId: "0123456789abcdef0123456789abcdef",
  receivedAtUs: 1_700_000_000_123_456,
  sender: "alice",
  senderType: "normal",
  receiver: "bob",
  conversationId: dm,
  ttl: 0,
  bor: 0,
  linkPreviews: true,
  type: 1000,
  content,
  ...over,
});
const line = (input: unknown) => JSON.parse(formatLine(parseComplianceRecord(input))) as Record<string, unknown>;

describe("time fields", () => {
  test.each([
    [Date.UTC(2023, 7, 4, 19, 10, 58, 901), "8/4/23 7:10 PM", "2023-08-04 19:10:58.901", "20230804191058901"],
    [Date.UTC(2005, 0, 2, 0, 5, 0, 7), "1/2/05 12:05 AM", "2005-01-02 00:05:00.007", "20050102000500007"],
    [Date.UTC(2024, 11, 31, 12, 0, 59, 999), "12/31/24 12:00 PM", "2024-12-31 12:00:59.999", "20241231120059999"],
    [Date.UTC(2030, 5, 15, 11, 59), "6/15/30 11:59 AM", "2030-06-15 11:59:00.000", "20300615115900000"],
  ])("%i → %s / %s / %s (UTC)", (ms, short, iso, stamp) => {
    expect(formatShortTime(ms)).toBe(short);
    expect(formatIsoTime(ms)).toBe(iso);
    expect(formatStamp(ms)).toBe(stamp);
  });

  test("msg_ts is a string with exactly six decimals", () => {
    expect(formatMsgTs(1_691_176_258_901_277)).toBe("1691176258.901277");
    expect(formatMsgTs(1_000_000_000_000_001)).toBe("1000000000.000001");
    expect(formatMsgTs(1_700_000_000_000_000)).toBe("1700000000.000000");
    expect(typeof line(text()).msg_ts).toBe("string");
  });

  test("time_iso truncates to milliseconds like msg_ts shows more digits, it never rounds up", () => {
    expect(line(text({ receivedAtUs: 1_700_000_000_999_999 })).time_iso).toBe("2023-11-14 22:13:20.999");
  });

  test("ttl and bor are expiry times counted from the server receive time, omitted when 0", () => {
    const l = line(text({ ttl: 3600, bor: 60 }));
    expect(l.ttl).toBe("11/14/23 11:13 PM");
    expect(l.bor).toBe("11/14/23 10:14 PM");
    const none = line(text());
    expect("ttl" in none).toBe(false);
    expect("bor" in none).toBe(false);
  });
});

describe("lines", () => {
  test("keys are sorted at every depth and no value is null, for every golden record", () => {
    const check = (v: unknown): void => {
      expect(v).not.toBeNull();
      if (Array.isArray(v)) v.forEach(check);
      else if (typeof v === "object" && v !== null) {
        const keys = Object.keys(v);
        expect(keys).toEqual([...keys].sort());
        Object.values(v).forEach(check);
      }
    };
    for (const { record } of goldenRecords) check(JSON.parse(formatLine(record, record.type === 6000 ? "/a/b" : undefined)));
  });

  test("a line never contains a raw newline, whatever the text holds", () => {
    const raw = formatLine(parseComplianceRecord(text({}, { text: "a\nb\r\nc\u2028d" })));
    expect(raw).not.toContain("\n");
    expect(JSON.parse(raw).message).toBe("a\nb\r\nc\u2028d");
  });

  test("unicode survives unchanged (UTF-8, not escaped), lone surrogates are escaped", () => {
    const raw = formatLine(parseComplianceRecord(text({ sender: "žofia", receiver: "小明" }, { text: "héllo 👋🏽 \ud800" })));
    expect(raw).toContain('"sender":"žofia"');
    expect(raw).toContain('"receiver":"小明"');
    expect(raw).toContain("👋🏽");
    expect(raw).toContain("\\ud800");
  });

  test("receiver is written for direct messages only", () => {
    expect(line(text()).receiver).toBe("bob");
    expect("receiver" in line(text({ receiver: undefined, conversationId: room }))).toBe(false);
    expect("receiver" in line(text({ receiver: undefined, conversationId: `G${"2".repeat(63)}` }))).toBe(false);
  });

  test("guest senders are marked", () => {
    expect(line(text({ senderType: "guest" })).sender_type).toBe("guest");
    expect(line(text()).sender_type).toBe("normal");
  });

  test("links follow the security group's preview setting", () => {
    const content = { text: "see https://example.com/a." };
    expect(line(text({ linkPreviews: true }, content)).links).toEqual([{ url: "https://example.com/a" }]);
    expect("links" in line(text({ linkPreviews: false }, content))).toBe(false);
    expect("links" in line(text({ linkPreviews: true }, { text: "no link here" }))).toBe(false);
    expect(line(text({ linkPreviews: true }, { text: "x", links: ["https://previewed.example"] })).links).toEqual([{ url: "https://previewed.example" }]);
    expect(linksInText("a http://x.example/p?q=(1) b HTTPS://Y.example!")).toEqual(["http://x.example/p?q=(1)", "HTTPS://Y.example"]);
    expect(linksInText("(see https://en.example/wiki/A_(b)).")).toEqual(["https://en.example/wiki/A_(b)"]);
  });
});

describe("attachment names", () => {
  const us = 1_691_176_544_790_581;

  test("attachment_<stamp>_<name> from the server receive time", () => {
    expect(attachmentFileName(us, "claymation.gif")).toBe("attachment_20230804191544790_claymation.gif");
    expect(attachmentFileName(us, "claymation.gif", "_1")).toBe("attachment_20230804191544790_claymation_1.gif");
  });

  test("a long name is cut at its end to stay under 255 bytes, keeping the extension", () => {
    const name = attachmentFileName(us, `${"a".repeat(400)}.pdf`);
    expect(bytes(name)).toBe(MAX_NAME_BYTES);
    expect(name.endsWith("a.pdf")).toBe(true);
    expect(name.startsWith("attachment_20230804191544790_aaa")).toBe(true);
    expect(bytes(attachmentFileName(us, `${"a".repeat(400)}.pdf`, "_12"))).toBeLessThan(255);
  });

  test("multi-byte names are cut between characters, never inside one", () => {
    const name = attachmentFileName(us, `${"日本語".repeat(40)}.txt`);
    expect(bytes(name)).toBeLessThan(255);
    expect(name).not.toContain("\ufffd");
    expect(new TextDecoder("utf-8", { fatal: true }).decode(new TextEncoder().encode(name))).toBe(name);
    expect(name.endsWith(".txt")).toBe(true);
    const emoji = attachmentFileName(us, "👋".repeat(100));
    expect(bytes(emoji)).toBeLessThan(255);
    expect([...emoji.slice(29)].every((c) => c === "👋")).toBe(true);
  });

  test("an over-long extension is treated as part of the name and cut", () => {
    const name = attachmentFileName(us, `x.${"e".repeat(300)}`);
    expect(bytes(name)).toBeLessThan(255);
    expect(name.startsWith("attachment_20230804191544790_x.eee")).toBe(true);
  });

  test("names cannot leave the attachments folder or hide control characters", () => {
    expect(safeFileName("../../etc/passwd")).toBe(".._.._etc_passwd");
    expect(safeFileName("..")).toBe("_");
    expect(safeFileName("a\\b\u0000c\nd")).toBe("a_b_c_d");
    expect(attachmentFileName(us, "/")).toBe("attachment_20230804191544790__");
  });
});

describe("record validation names the offending field", () => {
  const issues = (input: unknown) => {
    try {
      parseComplianceRecord(input);
    } catch (err) {
      expect(err).toBeInstanceOf(ComplianceRecordError);
      return (err as ComplianceRecordError).issues.map((i) => i.path);
    }
    throw new Error("expected a ComplianceRecordError");
  };
  test.each([
    ["message id not 32 hex", text({ messageId: "XYZ" }), "messageId"],
    ["receiver in a room", text({ conversationId: room }), "receiver"],
    ["no receiver in a DM", text({ receiver: undefined }), "receiver"],
    ["bad conversation id", text({ conversationId: "S123" }), "conversationId"],
    ["negative ttl", text({ ttl: -1 }), "ttl"],
    ["fractional receive time", text({ receivedAtUs: 1.5 }), "receivedAtUs"],
    ["unknown sender type", text({ senderType: "bot" }), "senderType"],
    ["empty sender", text({ sender: "" }), "sender"],
    ["unknown message type", text({ type: 1234 }), "type"],
    ["text that is not a string", text({}, { text: 42 }), "content.text"],
    ["verification kind 6", text({ type: 3000 }, { kind: 6 }), "content.kind"],
    ["call status 4", text({ type: 7000 }, { status: 4 }), "content.status"],
    ["latitude out of range", text({ type: 8000 }, { latitude: 91, longitude: 0 }), "content.latitude"],
    ["NaN longitude", text({ type: 8000 }, { latitude: 0, longitude: Number.NaN }), "content.longitude"],
    ["edit of unknown kind", text({ type: 9000 }, { type: "poll" }), "content.type"],
    ["saved-file change without vault info", text({ type: 4004, receiver: undefined, conversationId: room }, { changeMask: 64 }), "content.fileVaultInfo"],
    ["changemask beyond the known bits", text({ type: 4004, receiver: undefined, conversationId: room }, { changeMask: 128 }), "content.changeMask"],
    ["members not a list", text({ type: 4002, receiver: undefined, conversationId: room }, { addedUsers: "bob", deletedUsers: [] }), "content.addedUsers"],
    ["star without attributes", text({ type: 4012 }, { attributes: [] }), "content.attributes"],
    ["pin not a boolean", text({ type: 4014 }, { pinned: "yes" }), "content.pinned"],
    ["file without its bytes", text({ type: 6000 }, { fileName: "a.txt", fileId: "f" }), "attachment"],
  ])("%s", (_name, input, path) => {
    expect(issues(input)).toContain(path);
  });

  test("a record that is not an object", () => {
    expect(() => parseComplianceRecord("hello")).toThrow(ComplianceRecordError);
    expect(() => parseComplianceRecord(null)).toThrow(ComplianceRecordError);
  });
});

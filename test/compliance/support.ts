// Helpers for the retention end-to-end tests: read what the writer produced, and turn
// run-specific values (ids, times, conversation ids) into stable placeholders.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Every retention line in the folder, rotated files first (they sort in write order), then the current file. */
export function readLines(messagesDir: string, prefix = "receivedMessages"): Record<string, unknown>[] {
  if (!existsSync(messagesDir)) return [];
  const names = readdirSync(messagesDir).filter((n) => n.startsWith(`${prefix}.`) && n.endsWith(".log"));
  const rotated = names.filter((n) => n !== `${prefix}.log`).sort();
  const files = [...rotated, ...(names.includes(`${prefix}.log`) ? [`${prefix}.log`] : [])];
  const out: Record<string, unknown>[] = [];
  for (const f of files) {
    const text = readFileSync(join(messagesDir, f), "utf8");
    // Only whole lines: the writer may be appending while a test polls.
    for (const line of text.slice(0, text.lastIndexOf("\n") + 1).split("\n")) if (line) out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

export function rawLines(messagesDir: string, prefix = "receivedMessages"): string[] {
  const p = join(messagesDir, `${prefix}.log`);
  if (!existsSync(p)) return [];
  const text = readFileSync(p, "utf8");
  return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter(Boolean);
}

/**
 * Replaces message ids (by first appearance: <m1>, <m2>…; ids referenced before they appear
 * keep their number), conversation ids (<c1>…) and times with placeholders, keeping key order.
 */
export function normalise(lines: string[]): string[] {
  const ids = new Map<string, string>();
  const convs = new Map<string, string>();
  const id = (v: string) => ids.get(v) ?? (ids.set(v, `<m${ids.size + 1}>`), ids.get(v)!);
  const conv = (v: string) => convs.get(v) ?? (convs.set(v, `<c${convs.size + 1}>`), convs.get(v)!);
  // Member lists follow the server's (random) user ids: sorted, so the golden file is stable.
  const sortMembers = (line: string) => line.replace(/"(members|masters)":\[([^\]]*)\]/g, (_, k: string, v: string) => `"${k}":[${v.split(",").sort().join(",")}]`);
  return lines.map((line) =>
    sortMembers(line)
      .replace(/"(message_id|originalmessageid|msgid)":"([0-9a-f]{32})"/g, (_, k: string, v: string) => `"${k}":"${id(v)}"`)
      .replace(/"vgroupid":"([0-9a-fSG][0-9a-f]{63})"/g, (_, v: string) => `"vgroupid":"${conv(v)}"`)
      .replace(/"localfilename":"[^"]*\/(attachment_)\d{17}(_[^"]*)"/g, '"localfilename":"<attachments>/$1<stamp>$2"')
      .replace(/"msg_ts":"\d+\.\d{6}"/g, '"msg_ts":"<ts>"')
      .replace(/"time_iso":"[^"]+"/g, '"time_iso":"<iso>"')
      .replace(/"(time|ttl|bor)":"\d{1,2}\/\d{1,2}\/\d{2} \d{1,2}:\d{2} [AP]M"/g, (_, k: string) => `"${k}":"<${k}>"`),
  );
}

/** Lines in the current file plus rotated ones, counted without parsing (cheap enough to poll). */
export function countLines(messagesDir: string, prefix = "receivedMessages"): number {
  if (!existsSync(messagesDir)) return 0;
  let n = 0;
  for (const f of readdirSync(messagesDir)) {
    if (!f.startsWith(`${prefix}.`) || !f.endsWith(".log")) continue;
    const buf = readFileSync(join(messagesDir, f));
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  }
  return n;
}

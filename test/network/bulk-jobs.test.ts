// Bulk CSV jobs through a real server: a raw 50,000-row CSV upload runs as a
// background job whose progress is seen going up; other networks' jobs are not
// found; malformed and oversized files are refused naming the row or the limit.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createUsers, listDirectory } from "../../src/modules/users/users.service.ts";
import { listAudit } from "../../src/modules/audit/audit.service.ts";
import { BULK_CSV_LIMIT } from "../../src/modules/users/bulk-jobs.service.ts";
import { startNetWorld, USER_PASSWORD, type NetWorld } from "./setup.ts";
import type { AdminClient } from "../support/admin-client.ts";

let w: NetWorld;
type Json = Record<string, unknown>;

beforeAll(async () => {
  w = await startNetWorld();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

const upload = async (c: AdminClient, networkId: string, query: string, body: string | Uint8Array<ArrayBuffer>) => {
  const res = await fetch(`${w.s.url}/api/v1/networks/${networkId}/users/bulk/jobs?${query}`, { method: "POST", headers: { cookie: c.cookie, "x-csrf-token": c.csrf, "content-type": "text/csv" }, body });
  return { status: res.status, body: (await res.json()) as Json };
};
const job = async (c: AdminClient, networkId: string, id: string) => {
  const res = await c.request("GET", `/api/v1/networks/${networkId}/users/bulk/jobs/${id}`);
  return { status: res.status, body: (await res.json()) as Json };
};
const errorOf = (b: Json) => b.error as { code: string; message: string; details?: { path: string; rule: string }[] };

test("a 50,000-row CSV suspend runs as a job: 202 at once, progress going up, then done with a report", async () => {
  const names = Array.from({ length: 50_000 }, (_, i) => `mass${i}`);
  await createUsers(w.s.ctx, names.map((username) => ({ networkId: w.netA, username, password: USER_PASSWORD })), { argon2: { memoryCost: 1024, timeCost: 1 } });
  const csv = "username\n" + names.join("\n") + "\nnobody.here\n";
  const tUp = performance.now();
  const started = await upload(w.a, w.netA, "action=suspend", csv);
  const acceptedMs = Math.round(performance.now() - tUp);
  expect(started.status).toBe(202);
  expect(started.body).toMatchObject({ kind: "suspend", total: 50_001 });
  const id = started.body.id as string;
  const seen: number[] = [];
  let last: Json = {};
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) {
    const r = await job(w.a, w.netA, id);
    expect(r.status).toBe(200);
    last = r.body;
    seen.push(last.processed as number);
    if (last.state === "done" || last.state === "failed") break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const ms = Math.round(performance.now() - t0);
  expect(last).toMatchObject({ state: "done", processed: 50_001, matched: 50_000, changed: 50_000, unmatched: 1, error: null });
  // Progress was observed part-way, and never went backwards.
  expect(seen.some((p) => p > 0 && p < 50_001), `progress seen: ${seen.join(",")}`).toBe(true);
  expect(seen).toEqual([...seen].sort((a, b) => a - b));
  console.log(`50,000-row bulk suspend: upload accepted in ${acceptedMs} ms, job done ${ms} ms later, ${seen.length} polls`);
  expect(listDirectory(w.s.ctx, w.netA, { search: "mass", status: "suspended", limit: 1, offset: 0 }).total).toBe(50_000);
  const report = await w.a.request("GET", `/api/v1/networks/${w.netA}/users/bulk/jobs/${id}/report.csv`);
  expect(await report.text()).toBe("row,username,result\n50002,nobody.here,not found\n");
  const audited = listAudit(w.s.ctx, { action: "users.bulk.finish" }, { limit: 5, offset: 0 }).items;
  expect(audited[0]).toMatchObject({ networkId: w.netA, target: `bulk job ${id}` });
}, 120_000);

test("another network's job is not found, and another network's path is forbidden", async () => {
  await createUsers(w.s.ctx, [{ networkId: w.netA, username: "solo", password: USER_PASSWORD }], { argon2: { memoryCost: 1024, timeCost: 1 } });
  const started = await upload(w.a, w.netA, "action=suspend", "solo\n");
  expect(started.status).toBe(202);
  const id = started.body.id as string;
  const fromB = await job(w.b, w.netB, id);
  expect(fromB.status).toBe(404);
  expect(errorOf(fromB.body).code).toBe("not_found");
  expect((await w.b.request("GET", `/api/v1/networks/${w.netB}/users/bulk/jobs/${id}/report.csv`)).status).toBe(404);
  expect((await job(w.b, w.netA, id)).status).toBe(403);
  expect((await job(w.a, w.netA, "no-such-job")).status).toBe(404);
  // B cannot start a job in A either.
  expect((await upload(w.b, w.netA, "action=suspend", "solo\n")).status).toBe(403);
});

test("malformed, empty and oversized CSV files are refused with the row or the limit named", async () => {
  const bad = await upload(w.a, w.netA, "action=suspend", 'username\nfine\n"broken\nmore\n');
  expect(bad.status).toBe(400);
  expect(errorOf(bad.body).message).toMatch(/row \d+/);
  expect(errorOf(bad.body).details).toEqual([expect.objectContaining({ path: "file", rule: "csv" })]);
  const empty = await upload(w.a, w.netA, "action=suspend", "username\n\n");
  expect(empty.status).toBe(400);
  expect(errorOf(empty.body).details![0]).toMatchObject({ path: "file", rule: "empty" });
  const big = await upload(w.a, w.netA, "action=suspend", new Uint8Array(BULK_CSV_LIMIT + 1).fill(0x61));
  expect(big.status).toBe(413);
  expect(errorOf(big.body).message).toContain(String(BULK_CSV_LIMIT));
  // Over the 1 MiB JSON limit but under the CSV limit: accepted (about 2 MiB of names, most unknown).
  const twoMiB = "username\n" + Array.from({ length: 200_000 }, (_, i) => `absent${i}`).join("\n") + "\n";
  expect(twoMiB.length).toBeGreaterThan(1024 * 1024);
  expect((await upload(w.a, w.netA, "action=unsuspend", twoMiB)).status).toBe(202);
  const noAck = await upload(w.a, w.netA, "action=delete", "solo\n");
  expect(noAck.status).toBe(400);
  expect(errorOf(noAck.body).details![0]).toMatchObject({ path: "acknowledge" });
  expect((await upload(w.a, w.netA, "action=explode", "solo\n")).status).toBe(400);
}, 60_000);

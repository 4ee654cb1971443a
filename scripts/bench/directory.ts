// Team directory benchmark against a real in-process server and SQLite file:
//  1. users created per second through the REST API (argon2id per user, as administrators create them);
//  2. a bulk suspend by CSV of 10,000 rows: raw CSV upload, 202, background job polled to the end;
//  3. directory page latency (p50/p99) at 100,000 users: first, middle and last pages,
//     a search and a sort by name.
//
//   bun scripts/bench/directory.ts [--api-users 100] [--users 100000] [--pages 200]
import { parseArgs } from "node:util";
import { AdminClient } from "../../test/support/admin-client.ts";
import { startNetWorld, USER_PASSWORD } from "../../test/network/setup.ts";
import { createUsers } from "../../src/modules/users/users.service.ts";

const { values } = parseArgs({ options: { "api-users": { type: "string", default: "100" }, users: { type: "string", default: "100000" }, pages: { type: "string", default: "200" } } });
const API_USERS = Number(values["api-users"]);
const TOTAL = Number(values.users);
const PAGES = Number(values.pages);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const log = (s: string) => console.log(s);

const w = await startNetWorld({ logLevel: "warn" });
const base = `/api/v1/networks/${w.netA}`;
const a: AdminClient = w.a;

// 1. Users created through the API, four requests in flight.
let next = 0;
const t1 = performance.now();
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < API_USERS) {
      const i = next++;
      const res = await a.request("POST", `${base}/users`, { username: `api${i}`, password: USER_PASSWORD });
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
    }
  }),
);
const createS = (performance.now() - t1) / 1000;
log(`users created via REST: ${API_USERS} in ${createS.toFixed(2)} s = ${(API_USERS / createS).toFixed(1)} users/s (argon2id per user, 4 in flight)`);

// Seed up to TOTAL users (one shared hash, in chunks; the writer takes each chunk as one write).
const t2 = performance.now();
for (let i = 0; i < TOTAL - API_USERS; i += 10_000) {
  const n = Math.min(10_000, TOTAL - API_USERS - i);
  await createUsers(w.s.ctx, Array.from({ length: n }, (_, j) => ({ networkId: w.netA, username: `user${String(i + j).padStart(6, "0")}`, password: USER_PASSWORD, firstName: "Bench", lastName: `Person${i + j}` })), { argon2: { memoryCost: 1024, timeCost: 1 } });
}
const seedS = (performance.now() - t2) / 1000;
log(`seeded ${TOTAL - API_USERS} more users via the service in ${seedS.toFixed(1)} s = ${((TOTAL - API_USERS) / seedS).toFixed(0)} rows/s`);

// 2. CSV suspend of 10,000 rows: the upload answers 202 with a job, polled until done.
const csv = "username\n" + Array.from({ length: 10_000 }, (_, i) => `user${String(i * 7).padStart(6, "0")}`).join("\n") + "\n";
const t3 = performance.now();
const res = await fetch(`${w.s.url}${base}/users/bulk/jobs?action=suspend`, { method: "POST", headers: { cookie: a.cookie, "x-csrf-token": a.csrf, "content-type": "text/csv" }, body: csv });
if (res.status !== 202) throw new Error(`bulk job: ${res.status} ${await res.text()}`);
const accepted = performance.now() - t3;
let job = (await res.json()) as { id: string; state: string; changed: number; unmatched: number };
while (job.state === "queued" || job.state === "running") {
  await new Promise((r) => setTimeout(r, 20));
  job = (await (await a.request("GET", `${base}/users/bulk/jobs/${job.id}`)).json()) as typeof job;
}
log(`CSV suspend of 10,000 rows: accepted in ${accepted.toFixed(0)} ms, job ${job.state} after ${(performance.now() - t3).toFixed(0)} ms, ${job.changed} suspended, ${job.unmatched} unmatched`);

// 3. Directory pages at TOTAL users.
async function time(label: string, path: (i: number) => string) {
  const ms: number[] = [];
  for (let i = 0; i < PAGES; i++) {
    const t = performance.now();
    const r = await a.request("GET", base + path(i));
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${label}: ${r.status}`);
    ms.push(performance.now() - t);
  }
  log(`directory ${label}: p50 ${pct(ms, 50).toFixed(1)} ms, p99 ${pct(ms, 99).toFixed(1)} ms (${PAGES} requests, 50 per page)`);
}
const last = Math.max(0, TOTAL - 50);
await time("first page", () => "/users?limit=50");
await time("middle page", () => `/users?limit=50&offset=${Math.floor(TOTAL / 2)}`);
await time("last page", () => `/users?limit=50&offset=${last}`);
await time("search", (i) => `/users?limit=50&search=person${(i * 37) % TOTAL}`);
await time("sorted by name, desc", () => "/users?limit=50&sort=name&order=desc");
await time("suspended only", () => "/users?limit=50&status=suspended");
await w.close();

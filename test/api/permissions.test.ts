// Every protected endpoint, API and console alike, is walked from its own
// table (the OpenAPI document's x-permission marks; the console route list):
// no credentials → 401 (console pages: redirect to sign-in), a role without
// the permission → 403, a missing CSRF token → 403, and the full role gets
// past the guard (so the refusals are not an accident of something else).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestServer, type TestServer } from "../support/server.ts";
import { AdminClient } from "../support/admin-client.ts";
import { allPermissions, type Permission } from "../../src/modules/access/permissions.ts";
import { superConsoleRoutes } from "../../src/console/admin/routes.ts";

let s: TestServer;
let full: AdminClient;
const without = new Map<Permission, AdminClient>();
const tokenWithout = new Map<Permission, string>();
interface ApiOp {
  method: string;
  path: string;
  permission: Permission;
}
let apiOps: ApiOp[] = [];
const PUBLIC_API = new Set([
  "POST /api/v1/auth/sign-in",
  "GET /api/v1/auth/session",
  "DELETE /api/v1/auth/session",
  "POST /api/v1/auth/password",
  "POST /api/v1/auth/two-factor/enrollment",
  "POST /api/v1/auth/two-factor",
  "DELETE /api/v1/auth/two-factor",
  "GET /api/v1/appearance",
  "GET /api/v1/version",
]);
const fakeId = "00000000-0000-4000-8000-000000000000";
const fill = (path: string) => path.replace(/\{[^}]+\}|:[a-zA-Z]+/g, fakeId);

beforeAll(async () => {
  s = await startTestServer();
  full = new AdminClient(s.url);
  await full.signInFirstTime("admin", s.firstAdminPassword!);
  const doc = (await (await fetch(`${s.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { "x-permission"?: Permission }>> };
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (op["x-permission"]) apiOps.push({ method: method.toUpperCase(), path, permission: op["x-permission"] });
    }
  }
  // One role, one administrator and one token per permission, each holding every permission but that one.
  for (const p of allPermissions) {
    const role = (await (await full.request("POST", "/api/v1/roles", { name: `all but ${p}`, permissions: allPermissions.filter((x) => x !== p) })).json()) as { id: string };
    const username = `no-${p.replace(".", "-")}`;
    const created = await full.request("POST", "/api/v1/admins", { name: username, username, password: "Initial-Passw0rd-x", kind: "super", roleId: role.id });
    expect(created.status).toBe(201);
    const client = new AdminClient(s.url);
    await client.signInFirstTime(username, "Initial-Passw0rd-x");
    without.set(p, client);
    const t = (await (await full.request("POST", "/api/v1/tokens", { label: `no ${p}`, roleId: role.id })).json()) as { token: string };
    tokenWithout.set(p, t.token);
  }
}, 60_000);

afterAll(async () => {
  await s?.close();
});

function send(op: { method: string; path: string }, headers: Record<string, string> = {}) {
  const hasBody = op.method !== "GET" && op.method !== "DELETE";
  return fetch(s.url + fill(op.path), { method: op.method, headers: { ...(hasBody ? { "content-type": "application/json" } : {}), ...headers }, body: hasBody ? "{}" : undefined, redirect: "manual" });
}

describe("REST API", () => {
  test("every /api/v1 operation is either deliberately public/self-service or names its permission", async () => {
    const doc = (await (await fetch(`${s.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { "x-permission"?: string; "x-network-scope"?: boolean }>> };
    const unmarked: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const key = `${method.toUpperCase()} ${path}`;
        // Network-scoped endpoints (x-network-scope) are walked by test/network/isolation.test.ts; /api/v1/me/ is self-service.
        if (path.startsWith("/api/v1/") && !op["x-permission"] && !op["x-network-scope"] && !/^\/api\/v1\/me(\/|$)/.test(path) && !PUBLIC_API.has(key)) unmarked.push(key);
      }
    }
    expect(unmarked).toEqual([]);
    // The reference says which permission each guarded operation needs.
    expect((doc.paths["/api/v1/networks"] as Record<string, { description?: string }>).post!.description).toContain("Needs the `networks.write` permission");
    expect(apiOps.length).toBeGreaterThanOrEqual(30);
    // Every permission guards at least one endpoint.
    expect(new Set(apiOps.map((o) => o.permission))).toEqual(new Set(allPermissions));
  });

  test("without credentials: 401, with an unknown token: 401", async () => {
    for (const op of apiOps) {
      expect((await send(op)).status, `${op.method} ${op.path}`).toBe(401);
      expect((await send(op, { authorization: "Bearer opt_0000000000000000000000000000000000000000" })).status, `${op.method} ${op.path}`).toBe(401);
      expect((await send(op, { authorization: "Basic YWRtaW46eA==" })).status, `${op.method} ${op.path}`).toBe(401);
    }
  });

  test("a session whose role lacks the permission is refused with 403", async () => {
    for (const op of apiOps) {
      const c = without.get(op.permission)!;
      const res = await send(op, { cookie: c.cookie, "x-csrf-token": c.csrf });
      expect(res.status, `${op.method} ${op.path}`).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    }
  });

  test("a token whose role lacks the permission is refused with 403 (tokens need no CSRF)", async () => {
    for (const op of apiOps) {
      const res = await send(op, { authorization: `Bearer ${tokenWithout.get(op.permission)}` });
      expect(res.status, `${op.method} ${op.path}`).toBe(403);
    }
  });

  test("a state change without the CSRF token is refused with 403 even for the full role", async () => {
    for (const op of apiOps.filter((o) => o.method !== "GET")) {
      const res = await send(op, { cookie: full.cookie });
      expect(res.status, `${op.method} ${op.path}`).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("csrf_failed");
      const wrong = await send(op, { cookie: full.cookie, "x-csrf-token": "0".repeat(32) });
      expect(wrong.status).toBe(403);
    }
  });

  test("control: the same requests pass the guard with the permission (session and token)", async () => {
    const token = (await (await full.request("POST", "/api/v1/tokens", { label: "control" })).json()) as { token: string };
    for (const op of apiOps) {
      const bySession = await send(op, { cookie: full.cookie, "x-csrf-token": full.csrf });
      expect([401, 403], `${op.method} ${op.path}`).not.toContain(bySession.status);
      const byToken = await send(op, { authorization: `Bearer ${token.token}` });
      expect([401, 403], `${op.method} ${op.path}`).not.toContain(byToken.status);
    }
  });
});

describe("console", () => {
  const routes = () => superConsoleRoutes(s.ctx).filter((r) => r.permission !== null);

  test("the console table covers every permission", () => {
    expect(new Set(routes().map((r) => r.permission))).toEqual(new Set(allPermissions));
  });

  test("without a session: pages redirect to sign-in, form posts get 401", async () => {
    for (const r of superConsoleRoutes(s.ctx)) {
      const res = await fetch(s.url + fill(r.path), { method: r.method, redirect: "manual", ...(r.method === "POST" ? { headers: { "content-type": "application/x-www-form-urlencoded" }, body: "_csrf=x" } : {}) });
      if (r.method === "GET") {
        expect(res.status, r.path).toBe(303);
        expect(res.headers.get("location")).toMatch(/^\/sign-in\?next=/);
      } else {
        expect(res.status, r.path).toBe(401);
        expect(res.headers.get("content-type")).toContain("text/html");
      }
    }
  });

  test("a role without the permission gets 403 on each page and form action", async () => {
    for (const r of routes()) {
      const c = without.get(r.permission!)!;
      const res = r.method === "GET" ? await c.request("GET", fill(r.path)) : await c.form(fill(r.path), {});
      expect(res.status, `${r.method} ${r.path}`).toBe(403);
      expect(await res.text()).toContain(r.permission!);
    }
  });

  test("a form post without or with a wrong CSRF token gets 403", async () => {
    for (const r of routes().filter((x) => x.method === "POST")) {
      expect((await full.form(fill(r.path), {}, { csrf: false })).status, r.path).toBe(403);
      expect((await full.form(fill(r.path), { _csrf: "f".repeat(32) }, { csrf: false })).status, r.path).toBe(403);
    }
  });

  test("control: the full role passes the guard", async () => {
    for (const r of routes()) {
      const res = r.method === "GET" ? await full.request("GET", fill(r.path)) : await full.form(fill(r.path), {});
      expect([401, 403], `${r.method} ${r.path}`).not.toContain(res.status);
    }
  });

  test("a network administrator cannot open the super administrator console", async () => {
    await full.request("POST", "/api/v1/admins", { name: "Net Admin", username: "netadmin", password: "Initial-Passw0rd-x", kind: "network", newNetworkName: "Perm test" });
    const n = new AdminClient(s.url);
    await n.signInFirstTime("netadmin", "Initial-Passw0rd-x");
    expect((await n.request("GET", "/admin")).status).toBe(403);
    expect((await n.request("GET", "/admin/networks")).status).toBe(403);
    expect((await n.request("GET", "/api/v1/networks")).status).toBe(403);
    const home = await n.request("GET", "/network");
    expect(home.status).toBe(303);
    expect(home.headers.get("location")).toMatch(/^\/network\/[0-9a-f-]{36}$/);
    expect((await n.request("GET", home.headers.get("location")!)).status).toBe(200);
  });
});

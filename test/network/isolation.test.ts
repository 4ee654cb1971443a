// Every network-scoped endpoint, walked from the OpenAPI document (x-network-scope)
// and every network console page, walked from its route table: no credentials → 401
// (pages: sign-in redirect); a super administrator, a deployment-wide token, another
// network's administrator or token → 403; no CSRF token → 403; and an administrator
// of network A naming network B's resources inside A's own paths → 404, with B's data unchanged.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AdminClient } from "../support/admin-client.ts";
import { networkConsoleRoutes } from "../../src/console/network/routes.ts";
import { createUser, createUsers, getUser } from "../../src/modules/users/users.service.ts";
import { createSecurityGroup } from "../../src/modules/security-groups/security-groups.service.ts";
import { createNetworkToken, createTag } from "../../src/modules/network-admin/network-admin.service.ts";
import { createClientConfig } from "../../src/modules/client-config/client-config.service.ts";
import { systemActor } from "../../src/modules/audit/audit.service.ts";
import { setRoomBotEnabled } from "../../src/modules/settings/settings.service.ts";
import { createDefaultRoom } from "../../src/modules/network-admin/default-rooms.service.ts";
import { startNetWorld, USER_PASSWORD, type NetWorld } from "./setup.ts";

let w: NetWorld;
let ops: { method: string; path: string }[] = [];
const bRes: Record<string, string> = {};
let aUser = "";
let tokenA = "";
let tokenB = "";
let deploymentToken = "";

// Bodies that pass validation, so a refusal is the guard's or the scope's and not the schema's.
const bodies: Record<string, unknown> = {
  "PATCH /profile": { name: "Renamed" },
  "PATCH /options": { fileManagement: false },
  "POST /users": { username: "mallory", password: USER_PASSWORD },
  "POST /users/bulk/preview": { csv: "username\nx\n" },
  "POST /users/bulk": { action: "suspend", csv: "username\nx\n" },
  "PATCH /users/{id}": { firstName: "X" },
  "POST /bots": { username: "mallorybot", password: USER_PASSWORD },
  "PATCH /bots/{id}": { firstName: "X" },
  "POST /invitations": { username: "nobody" },
  "POST /security-groups": { name: "Intruders" },
  "PATCH /security-groups/{id}": { name: "Stolen" },
  "POST /security-tags": { name: "t", kind: "network", colour: "#000000" },
  "PUT /security-tags/{id}": { name: "t", kind: "network", colour: "#000000" },
  "POST /tokens": { label: "x" },
  "POST /default-rooms": { title: "Lobby" },
  "POST /client-configs": { name: "x", securityGroupId: "x", expiresInDays: 1, password: "long-enough-pw" },
};
const rel = (path: string) => path.replace(/^\/api\/v1\/networks\/\{networkId\}/, "");
const bodyOf = (op: { method: string; path: string }) => bodies[`${op.method} ${rel(op.path)}`];

function url(op: { path: string }, networkId: string, id: string) {
  return op.path.replace("{networkId}", networkId).replace("{id}", id);
}

async function send(op: { method: string; path: string }, networkId: string, id: string, headers: Record<string, string>) {
  const body = bodyOf(op);
  return fetch(w.s.url + url(op, networkId, id), {
    method: op.method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    redirect: "manual",
  });
}
const session = (c: AdminClient) => ({ cookie: c.cookie, "x-csrf-token": c.csrf });

beforeAll(async () => {
  w = await startNetWorld();
  const doc = (await (await fetch(`${w.s.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { "x-network-scope"?: boolean }>> };
  for (const [path, o] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(o)) if (op["x-network-scope"]) ops.push({ method: method.toUpperCase(), path });
  const ctx = w.s.ctx;
  const [bu] = await createUsers(ctx, [{ networkId: w.netB, username: "bob.user", password: USER_PASSWORD }]);
  bRes.users = bu!.id;
  bRes.bots = (await createUser(ctx, { networkId: w.netB, username: "helperbot", password: USER_PASSWORD, type: "bot" })).id;
  bRes["security-groups"] = (await createSecurityGroup(ctx, systemActor, w.netB, { name: "B group" })).id;
  bRes["security-tags"] = (await createTag(ctx, systemActor, w.netB, { name: "B tag", kind: "network", colour: "#aa0000" })).id;
  const bt = await createNetworkToken(ctx, systemActor, w.netB, "B token");
  bRes.tokens = bt.info.id;
  tokenB = bt.token;
  tokenA = (await createNetworkToken(ctx, systemActor, w.netA, "A token")).token;
  bRes["client-configs"] = (await createClientConfig(ctx, systemActor, w.netB, { name: "B config", securityGroupId: bRes["security-groups"], expiresInDays: 5, password: "b-config-password" }, { logN: 14 })).info.id;
  await setRoomBotEnabled(ctx, systemActor, true);
  bRes["default-rooms"] = (await createDefaultRoom(ctx, systemActor, w.netB, { title: "B lobby" })).id;
  aUser = (await createUser(ctx, { networkId: w.netA, username: "alice.user", password: USER_PASSWORD })).id;
  // Guests of A are users of other networks: naming A's own user as a guest must be refused.
  bRes.guests = aUser;
  deploymentToken = ((await (await w.sup.request("POST", "/api/v1/tokens", { label: "deployment" })).json()) as { token: string }).token;
}, 60_000);

afterAll(async () => {
  await w?.close();
});

describe("network API", () => {
  test("the document marks the network endpoints, and every one is walked", () => {
    expect(ops.length).toBeGreaterThanOrEqual(40);
    for (const op of ops) expect(op.path.startsWith("/api/v1/networks/{networkId}/"), op.path).toBe(true);
  });

  test("no credentials or an unknown token: 401", async () => {
    for (const op of ops) {
      expect((await send(op, w.netA, aUser, {})).status, `${op.method} ${op.path}`).toBe(401);
      expect((await send(op, w.netA, aUser, { authorization: "Bearer opt_000000000000000000000000000000000000000000000000" })).status).toBe(401);
    }
  });

  test("super administrators and deployment-wide tokens are refused: networks are managed by their own administrators", async () => {
    for (const op of ops) {
      expect((await send(op, w.netA, aUser, session(w.sup))).status, `${op.method} ${op.path}`).toBe(403);
      expect((await send(op, w.netA, aUser, { authorization: `Bearer ${deploymentToken}` })).status, `${op.method} ${op.path}`).toBe(403);
    }
  });

  test("an administrator of network A is refused on every endpoint of network B, and so is A's token", async () => {
    for (const op of ops) {
      const res = await send(op, w.netB, bRes.users!, session(w.a));
      expect(res.status, `${op.method} ${op.path}`).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
      expect((await send(op, w.netB, bRes.users!, { authorization: `Bearer ${tokenA}` })).status, `${op.method} ${op.path}`).toBe(403);
    }
  });

  test("state changes without the CSRF token are refused", async () => {
    for (const op of ops.filter((o) => o.method !== "GET")) {
      const res = await send(op, w.netA, aUser, { cookie: w.a.cookie });
      expect(res.status, `${op.method} ${op.path}`).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("csrf_failed");
    }
  });

  test("network B's resources named inside network A's paths are not found, and stay as they were", async () => {
    const withId = ops.filter((o) => o.path.includes("{id}"));
    expect(withId.length).toBeGreaterThanOrEqual(15);
    for (const op of withId) {
      const kind = rel(op.path).split("/")[1]!;
      const id = bRes[kind];
      expect(id, `no B resource for ${kind}`).toBeTruthy();
      for (const headers of [session(w.a), { authorization: `Bearer ${tokenA}` }]) {
        const res = await send(op, w.netA, id!, headers);
        expect(res.status, `${op.method} ${op.path}`).toBe(404);
      }
    }
    const bu = getUser(w.s.ctx, w.netB, bRes.users!);
    expect(bu.status).toBe("pending");
    expect(bu.firstName).toBe("");
    // B's administrator and B's token still reach them.
    expect((await w.b.request("GET", `/api/v1/networks/${w.netB}/users/${bRes.users}`)).status).toBe(200);
    expect((await fetch(`${w.s.url}/api/v1/networks/${w.netB}/security-groups/${bRes["security-groups"]}`, { headers: { authorization: `Bearer ${tokenB}` } })).status).toBe(200);
  });

  test("a network token cannot use deployment-wide endpoints", async () => {
    const res = await fetch(`${w.s.url}/api/v1/networks`, { headers: { authorization: `Bearer ${tokenA}` } });
    expect(res.status).toBe(403);
  });
});

describe("network console", () => {
  const routes = () => networkConsoleRoutes(w.s.ctx);
  const fill = (path: string, nid: string, id: string) => path.replace(":nid", nid).replace(":id", id);
  const form = (c: AdminClient | null, method: string, path: string, csrf = true) =>
    fetch(w.s.url + path, {
      method,
      redirect: "manual",
      headers: { ...(c ? { cookie: c.cookie } : {}), ...(method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
      body: method === "POST" ? new URLSearchParams(csrf && c ? { _csrf: c.csrf } : {}) : undefined,
    });

  test("every page refuses the signed-out, super administrators and other networks' administrators", async () => {
    expect(routes().length).toBeGreaterThanOrEqual(40);
    for (const r of routes()) {
      const p = fill(r.path, w.netB, bRes.users!);
      const anon = await form(null, r.method, p);
      expect(anon.status, `${r.method} ${r.path}`).toBe(r.method === "GET" ? 303 : 401);
      expect((await form(w.sup, r.method, p)).status, `${r.method} ${r.path}`).toBe(403);
      expect((await form(w.a, r.method, p)).status, `${r.method} ${r.path}`).toBe(403);
    }
  });

  test("every form action needs the CSRF token", async () => {
    for (const r of routes().filter((x) => x.method === "POST")) {
      const res = await form(w.a, "POST", fill(r.path, w.netA, aUser), false);
      expect(res.status, r.path).toBe(403);
    }
  });

  test("the network switcher only goes to networks of the administrator", async () => {
    const res = await fetch(`${w.s.url}/network/switch?to=${w.netB}`, { headers: { cookie: w.a.cookie }, redirect: "manual" });
    expect(res.headers.get("location")).toBe("/network");
  });
});

// The compliance REST API and `outpost compliance` CLI against a real server: permissions,
// validation naming each option, one writer per network, pause/start/restart, list paging,
// and the compliance device's own endpoints refusing every other device.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RestApi } from "../../src/client/api.ts";
import { createRole } from "../../src/modules/access/roles.service.ts";
import { createToken } from "../../src/modules/access/tokens.service.ts";
import { systemActor } from "../../src/modules/audit/audit.service.ts";
import { listAudit } from "../../src/modules/audit/audit.service.ts";
import { createNetwork } from "../../src/modules/networks/networks.service.ts";
import { AdminClient } from "../support/admin-client.ts";
import { startWorld, type World } from "../messaging/world.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
let w: World;
let admin: AdminClient;
let token: string;
let readOnlyToken: string;

beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob"]);
  admin = new AdminClient(w.server.url);
  await admin.signInFirstTime("admin", w.server.firstAdminPassword!);
  token = (await createToken(w.server.ctx, systemActor, { label: "cli" })).token;
  const role = await createRole(w.server.ctx, systemActor, { name: "Retention viewer", permissions: ["networks.read"] });
  readOnlyToken = (await createToken(w.server.ctx, systemActor, { label: "viewer", roleId: role.id })).token;
});
afterAll(() => w.close());

const base = () => `/api/v1/networks/${w.networkId}/compliance`;

async function cli(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, join(repoRoot, "src", "main.ts"), "compliance", ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

describe("compliance REST API", () => {
  test("needs a signed-in administrator or token with the permission", async () => {
    const anon = await fetch(`${w.server.url}${base()}`);
    expect(anon.status).toBe(401);
    const viewer = new AdminClient(w.server.url);
    viewer.bearer = readOnlyToken;
    expect((await viewer.request("POST", base(), {})).status).toBe(403);
    expect((await viewer.request("GET", base())).status).toBe(404); // allowed, nothing there yet
  });

  test("bad input is refused with the offending field named", async () => {
    const cases: [unknown, string][] = [
      [{ filePrefix: "_bad" }, "filePrefix"],
      [{ maxFileBytes: 100 }, "maxFileBytes"],
      [{ username: "notabotname" }, "username"],
      [{ mode: "elsewhere" }, "mode"],
      [{ extra: 1 }, ""],
      [{ messagesDir: 5 }, "messagesDir"],
    ];
    for (const [body, field] of cases) {
      const r = await admin.request("POST", base(), body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const e = (await r.json()) as { error: { code: string; details?: { path: string }[] } };
      expect(e.error.code).toBe("validation_failed");
      if (field) expect(e.error.details?.map((d) => d.path).join(" ")).toContain(field);
    }
    const malformed = await admin.request("POST", base(), undefined, { "content-type": "application/json" });
    expect(malformed.status).toBe(400);
    const raw = await fetch(`${w.server.url}${base()}`, { method: "POST", headers: { "content-type": "application/json", cookie: admin.cookie, "x-csrf-token": admin.csrf }, body: "{not json" });
    expect(raw.status).toBe(400);
    expect((await admin.request("POST", "/api/v1/networks/no-such-network/compliance", {})).status).toBe(404);
  });

  test("create returns the password once; one writer per network; status, pause, start, restart, list, delete", async () => {
    const r = await admin.request("POST", base(), { username: "archivebot" });
    expect(r.status).toBe(201);
    const created = (await r.json()) as { username: string; password: string; writer: { deviceId: string; state: string } };
    expect(created.username).toBe("archivebot");
    expect(created.password).toMatch(/[A-Z]/);
    expect(created.writer.deviceId).toMatch(/^d[0-9a-f]{24}$/);
    expect((await admin.request("POST", base(), {})).status).toBe(409);
    // The password is never shown again.
    const status = (await (await admin.request("GET", base())).json()) as Record<string, unknown>;
    expect(JSON.stringify(status)).not.toContain(created.password);
    for (const key of ["state", "lastMessageAt", "backlog", "bytesWritten", "lastError"]) expect(status).toHaveProperty(key);

    const paused = (await (await admin.request("POST", `${base()}/pause`)).json()) as { state: string; paused: boolean };
    expect(paused).toMatchObject({ state: "paused", paused: true });
    const started = (await (await admin.request("POST", `${base()}/start`)).json()) as { paused: boolean };
    expect(started.paused).toBe(false);
    const restarted = (await (await admin.request("POST", `${base()}/restart`)).json()) as { state: string };
    expect(restarted.state).toBe("running");

    const other = await createNetwork(w.server.ctx, { name: "Second" });
    expect((await admin.request("POST", `/api/v1/networks/${other.id}/compliance`, { mode: "remote" })).status).toBe(201);
    const page1 = (await (await admin.request("GET", "/api/v1/compliance/writers?limit=1")).json()) as { items: { networkId: string }[]; total: number };
    const page2 = (await (await admin.request("GET", "/api/v1/compliance/writers?limit=1&offset=1")).json()) as { items: { networkId: string; state: string }[] };
    expect(page1.total).toBe(2);
    expect([page1.items[0]!.networkId, page2.items[0]!.networkId].sort()).toEqual([w.networkId, other.id].sort());
    expect(page2.items[0]!.state).toBe("remote");
    expect((await admin.request("GET", "/api/v1/compliance/writers?limit=0")).status).toBe(400);
    expect((await admin.request("POST", `/api/v1/networks/${other.id}/compliance/restart`)).status).toBe(409);

    expect((await admin.request("DELETE", `/api/v1/networks/${other.id}/compliance`)).status).toBe(204);
    expect((await admin.request("DELETE", `/api/v1/networks/${other.id}/compliance`)).status).toBe(404);
    const actions = listAudit(w.server.ctx, { action: "compliance" }, { limit: 50, offset: 0 }).items.map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(["compliance.create", "compliance.pause", "compliance.start", "compliance.restart", "compliance.delete"]));
  });

  test("only the compliance device reads delivery facts or claims the mark", async () => {
    const alice = await w.client("alice");
    const api = new RestApi(w.server.url, `${alice.deviceId}.${(alice.exportState() as { token: string }).token}`);
    await expect(api.call("GET", "/api/client/v1/compliance/deliveries?fromSeq=0")).rejects.toMatchObject({ code: "forbidden" });
    await expect(api.call("POST", "/api/client/v1/compliance/claim")).rejects.toMatchObject({ code: "forbidden" });
    await expect(api.call("GET", "/api/client/v1/compliance/deliveries?fromSeq=-1")).rejects.toMatchObject({ code: "validation_failed" });
    await expect(new RestApi(w.server.url).call("GET", "/api/client/v1/compliance/deliveries?fromSeq=0")).rejects.toMatchObject({ code: "unauthenticated" });
  });
});

describe("outpost compliance CLI", () => {
  test("add prints the password once; list, status, pause, start, delete; errors name the option", async () => {
    const net = await createNetwork(w.server.ctx, { name: "Third" });
    const env = { OUTPOST_API_TOKEN: token };
    const add = await cli(["add", "--server", w.server.url, "--network", net.id, "--remote", "--file-prefix", "archive"], env);
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ networkId: net.id, mode: "remote", options: { filePrefix: "archive" } });
    expect(add.stderr).toMatch(/password \(shown once.*\): \S{20,}/);
    const list = await cli(["list", "--server", w.server.url], env);
    expect(list.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { networkId: string }).networkId)).toContain(net.id);
    expect(JSON.parse((await cli(["pause", "--server", w.server.url, "--network", net.id], env)).stdout)).toMatchObject({ paused: true });
    expect(JSON.parse((await cli(["start", "--server", w.server.url, "--network", net.id], env)).stdout)).toMatchObject({ paused: false });
    expect(JSON.parse((await cli(["status", "--server", w.server.url, "--network", net.id], env)).stdout)).toMatchObject({ networkId: net.id });
    expect((await cli(["delete", "--server", w.server.url, "--network", net.id], env)).code).toBe(0);
    const gone = await cli(["status", "--server", w.server.url, "--network", net.id], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("not_found");

    const badSize = await cli(["add", "--server", w.server.url, "--network", net.id, "--max-file-bytes", "12"], env);
    expect(badSize.code).toBe(1);
    expect(badSize.stderr).toContain("maxFileBytes");
    const noToken = await cli(["list", "--server", w.server.url]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain("OUTPOST_API_TOKEN");
    const run = await cli(["run", "--state", "/nonexistent/state.json", "--messages-dir", "/tmp/x", "--attachments-dir", "/tmp/y", "--file-prefix", "-bad"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--file-prefix");
    const noDirs = await cli(["run", "--state", "/nonexistent/state.json"]);
    expect(noDirs.stderr).toContain("--messages-dir is required");
    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).toBe(2);
  }, 60_000);
});

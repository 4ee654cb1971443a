// The super administrator REST API end to end on a real server: each
// endpoint's happy path and validation errors, sessions, lockout, two-factor
// codes, API tokens, the audit log and its CSV export, the crash report.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { unzipSync, strFromU8 } from "fflate";
import { parse } from "csv-parse/sync";
import { eq } from "drizzle-orm";
import { startTestServer, type TestServer } from "../support/server.ts";
import { AdminClient } from "../support/admin-client.ts";
import { totpCode } from "../../src/modules/admins/totp.ts";
import { audit } from "../../src/modules/audit/audit.service.ts";
import { administrators, adminSessions, apiTokens } from "../../src/db/schema/index.ts";

let s: TestServer;
let root: AdminClient;
const PW = "Initial-Passw0rd-x";

type Json = Record<string, unknown> & { error?: { code: string; message: string; details?: { path: string; rule: string }[] } };
const body = async (r: Response) => (await r.json()) as Json;

beforeAll(async () => {
  s = await startTestServer();
  root = new AdminClient(s.url);
  await root.signInFirstTime("admin", s.firstAdminPassword!);
});
afterAll(async () => {
  await s?.close();
});

async function newAdmin(username: string, extra: Record<string, unknown> = { kind: "network", newNetworkName: `net of ${username}` }) {
  const r = await root.request("POST", "/api/v1/admins", { name: `Name ${username}`, username, password: PW, ...extra });
  expect(r.status, await r.clone().text()).toBe(201);
  return (await r.json()) as { id: string; networks: { id: string }[] };
}

describe("networks", () => {
  test("create, read, rename, assign administrators, delete", async () => {
    const admin = await newAdmin("netboss");
    let r = await root.request("POST", "/api/v1/networks", { name: "Harbour", federationDomain: "harbour.example.org", adminIds: [admin.id] });
    expect(r.status).toBe(201);
    const net = (await r.json()) as { id: string; name: string; administrators: { username: string }[]; securityGroupCount: number };
    expect(net.administrators.map((a) => a.username)).toEqual(["netboss"]);
    expect(net.securityGroupCount).toBe(1);
    r = await root.request("PATCH", `/api/v1/networks/${net.id}`, { name: "Harbour North" });
    expect(((await body(r)) as { name: string }).name).toBe("Harbour North");
    r = await root.request("PUT", `/api/v1/networks/${net.id}/administrators`, { adminIds: [] });
    expect(((await body(r)) as { administrators: unknown[] }).administrators).toEqual([]);
    r = await root.request("GET", "/api/v1/networks?limit=1&offset=0");
    const page = (await r.json()) as { items: unknown[]; total: number };
    expect(page.items).toHaveLength(1);
    expect(page.total).toBeGreaterThanOrEqual(2);
    expect((await root.request("DELETE", `/api/v1/networks/${net.id}`)).status).toBe(204);
    expect((await root.request("GET", `/api/v1/networks/${net.id}`)).status).toBe(404);
    // The administrator survives the network.
    expect((await root.request("GET", `/api/v1/admins/${admin.id}`)).status).toBe(200);
  });

  test("validation errors name the field", async () => {
    const cases: [unknown, string][] = [
      [{ name: "" }, "name"],
      [{ name: "x".repeat(101) }, "name"],
      [{ name: 5 }, "name"],
      [{ name: "ok", federationDomain: "not a domain" }, "federationDomain"],
      [{ name: "ok", adminIds: ["00000000-0000-4000-8000-000000000000"] }, "adminIds"],
      [{ name: "ok", extra: 1 }, "extra"],
    ];
    for (const [input, field] of cases) {
      const r = await root.request("POST", "/api/v1/networks", input);
      expect(r.status, JSON.stringify(input)).toBe(400);
      expect((await body(r)).error!.details!.map((d) => d.path)).toContain(field);
    }
    const bad = await fetch(`${s.url}/api/v1/networks`, { method: "POST", headers: { cookie: root.cookie, "x-csrf-token": root.csrf, "content-type": "application/json" }, body: "{nope" });
    expect(bad.status).toBe(400);
    expect((await body(bad)).error!.code).toBe("malformed_json");
    const big = await root.request("POST", "/api/v1/networks", { name: "x".repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect((await root.request("PATCH", "/api/v1/networks/unknown", { name: "x" })).status).toBe(404);
    expect((await root.request("GET", "/api/v1/networks?limit=0")).status).toBe(400);
  });
});

describe("administrators", () => {
  test("create with a new network, with an existing one, as super; set password; change role; delete", async () => {
    const a = await newAdmin("alice");
    expect(a.networks).toHaveLength(1);
    const b = await newAdmin("bob", { kind: "network", networkId: a.networks[0]!.id });
    expect(b.networks[0]!.id).toBe(a.networks[0]!.id);
    const sup = await newAdmin("carol", { kind: "super" });
    const list = (await body(await root.request("GET", "/api/v1/admins"))) as { items: { username: string }[] };
    expect(list.items.map((x) => x.username)).toEqual(expect.arrayContaining(["admin", "alice", "bob", "carol"]));

    const alice = new AdminClient(s.url);
    const alicePw = await alice.signInFirstTime("alice", PW);
    expect((await root.request("PUT", `/api/v1/admins/${a.id}/password`, { password: "Another-Passw0rd-y" })).status).toBe(204);
    // Her session ended, and she must change the new password.
    expect((await alice.request("GET", "/api/v1/auth/session")).status).toBe(401);
    await expect(alice.signIn("alice", alicePw)).rejects.toThrow(/401/);
    expect((await alice.signIn("alice", "Another-Passw0rd-y")).passwordChangeRequired).toBe(true);

    const role = (await body(await root.request("POST", "/api/v1/roles", { name: "Auditor", permissions: ["audit.read"] }))) as { id: string };
    const changed = await body(await root.request("PUT", `/api/v1/admins/${sup.id}/role`, { roleId: role.id }));
    expect(changed.roleName).toBe("Auditor");
    expect((await root.request("PUT", `/api/v1/admins/${a.id}/role`, { roleId: role.id })).status).toBe(400);
    expect((await root.request("DELETE", `/api/v1/roles/${role.id}`)).status).toBe(409);

    expect((await root.request("DELETE", `/api/v1/admins/${b.id}`)).status).toBe(204);
    expect((await root.request("DELETE", `/api/v1/admins/${b.id}`)).status).toBe(404);
  });

  test("validation: username rules, duplicates, password policy, missing network, unknown role", async () => {
    const cases: [Record<string, unknown>, string, number][] = [
      [{ name: "N", username: "ab", password: PW, kind: "network", newNetworkName: "n" }, "username", 400],
      [{ name: "N", username: "has space", password: PW, kind: "network", newNetworkName: "n" }, "username", 400],
      [{ name: "N", username: "admin", password: PW, kind: "super" }, "username", 409],
      [{ name: "N", username: "weakpw", password: "short", kind: "super" }, "password", 400],
      [{ name: "N", username: "weakpw", password: "alllowercaseletters", kind: "super" }, "password", 400],
      [{ name: "N", username: "nonet", password: PW, kind: "network" }, "networkId", 400],
      [{ name: "N", username: "badnet", password: PW, kind: "network", networkId: "nope" }, "networkId", 400],
      [{ name: "N", username: "badrole", password: PW, kind: "super", roleId: "nope" }, "roleId", 400],
      [{ name: "", username: "noname", password: PW, kind: "super" }, "name", 400],
      [{ name: "N", username: "kind", password: PW, kind: "boss" }, "kind", 400],
    ];
    for (const [input, field, status] of cases) {
      const r = await root.request("POST", "/api/v1/admins", input);
      expect(r.status, JSON.stringify(input)).toBe(status);
      expect((await body(r)).error!.details!.map((d) => d.path), JSON.stringify(input)).toContain(field);
    }
    expect((await root.request("PUT", "/api/v1/admins/nope/password", { password: PW })).status).toBe(404);
    const me = (await body(await root.request("GET", "/api/v1/admins?limit=500"))) as { items: { id: string; username: string }[] };
    const adminId = me.items.find((x) => x.username === "admin")!.id;
    expect((await root.request("DELETE", `/api/v1/admins/${adminId}`)).status).toBe(409);
    expect((await root.request("PUT", `/api/v1/admins/${adminId}/role`, { roleId: "nope" })).status).toBe(400);
  });

  test("the password policy from Settings applies to administrator passwords", async () => {
    expect((await root.request("PATCH", "/api/v1/settings", { adminPasswordMinLength: 20 })).status).toBe(200);
    const r = await root.request("POST", "/api/v1/admins", { name: "N", username: "policy", password: "Only-15-chars-A", kind: "super" });
    expect(r.status).toBe(400);
    expect((await body(r)).error!.message).toContain("20");
    await root.request("PATCH", "/api/v1/settings", { adminPasswordMinLength: 12 });
  });
});

describe("sessions", () => {
  test("signing in elsewhere ends the first session; cookies are HttpOnly and SameSite=Strict; sign-out ends it", async () => {
    await newAdmin("dave");
    const first = new AdminClient(s.url);
    const pw = await first.signInFirstTime("dave", PW);
    expect((await first.request("GET", "/api/v1/auth/session")).status).toBe(200);
    const second = new AdminClient(s.url);
    const res = await second.request("POST", "/api/v1/auth/sign-in", { username: "dave", password: pw });
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/^outpost_session=[0-9a-f]{32};/);
    expect((await first.request("GET", "/api/v1/auth/session")).status).toBe(401);
    second.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
    expect((await second.request("GET", "/api/v1/auth/session")).status).toBe(200);
    expect((await second.request("DELETE", "/api/v1/auth/session", undefined, { "x-csrf-token": "" })).status).toBe(403);
    expect((await second.request("DELETE", "/api/v1/auth/session")).status).toBe(204);
    expect((await second.request("GET", "/api/v1/auth/session")).status).toBe(401);
  });

  test("a session past its idle timeout is refused", async () => {
    await newAdmin("erin");
    const c = new AdminClient(s.url);
    await c.signInFirstTime("erin", PW);
    const old = new Date(Date.now() - 31 * 60_000);
    await s.ctx.writer.run(() => {
      const id = s.ctx.storage.writeDb.select().from(administrators).where(eq(administrators.username, "erin")).get()!.id;
      s.ctx.storage.writeDb.update(adminSessions).set({ lastSeenAt: old }).where(eq(adminSessions.adminId, id)).run();
    });
    expect((await c.request("GET", "/api/v1/auth/session")).status).toBe(401);
  });
});

describe("session limits", () => {
  test("a session past its absolute lifetime is refused even when active", async () => {
    await newAdmin("abby");
    const c = new AdminClient(s.url);
    await c.signInFirstTime("abby", PW);
    await s.ctx.writer.run(() => {
      const id = s.ctx.storage.writeDb.select().from(administrators).where(eq(administrators.username, "abby")).get()!.id;
      s.ctx.storage.writeDb.update(adminSessions).set({ createdAt: new Date(Date.now() - 13 * 3600_000), lastSeenAt: new Date() }).where(eq(adminSessions.adminId, id)).run();
    });
    expect((await c.request("GET", "/api/v1/auth/session")).status).toBe(401);
  });

  test("under TLS the session cookie is also Secure", async () => {
    const tls = await startTestServer({ tls: "auto" });
    try {
      const res = await fetch(`${tls.url}/api/v1/auth/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password: tls.firstAdminPassword }),
        tls: { rejectUnauthorized: false },
      } as RequestInit);
      expect(res.status).toBe(200);
      expect(res.headers.get("set-cookie")).toMatch(/; Secure/i);
    } finally {
      await tls.close();
    }
  });
});

describe("every list and read endpoint", () => {
  test("answers 200 for the Super administrator role", async () => {
    const doc = (await (await fetch(`${s.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { "x-permission"?: string }>> };
    const gets = Object.entries(doc.paths).filter(([path, ops]) => ops.get?.["x-permission"] && !path.includes("{"));
    expect(gets.length).toBeGreaterThanOrEqual(10);
    for (const [path] of gets) expect((await root.request("GET", path)).status, path).toBe(200);
    const net = (await body(await root.request("POST", "/api/v1/networks", { name: "Readable" }))) as { id: string };
    expect(((await body(await root.request("GET", `/api/v1/networks/${net.id}`))) as { name: string }).name).toBe("Readable");
    expect(((await body(await root.request("GET", "/api/v1/roles/super-administrator"))) as { builtIn: boolean }).builtIn).toBe(true);
    const roles = (await body(await root.request("GET", "/api/v1/roles"))) as { items: { name: string }[] };
    expect(roles.items.map((r) => r.name)).toContain("Super administrator");
  });
});

describe("lockout", () => {
  test("five wrong passwords lock the account, even the right one is refused, unlock restores it", async () => {
    const f = await newAdmin("frank");
    const c = new AdminClient(s.url);
    const pw = await c.signInFirstTime("frank", PW);
    for (let i = 0; i < 5; i++) {
      const r = await c.request("POST", "/api/v1/auth/sign-in", { username: "frank", password: "wrong-password" });
      expect(r.status).toBe(401);
    }
    const locked = await c.request("POST", "/api/v1/auth/sign-in", { username: "frank", password: pw });
    expect(locked.status).toBe(423);
    expect((await body(locked)).error!.code).toBe("account_locked");
    const lockouts = (await body(await root.request("GET", "/api/v1/lockouts"))) as { items: { username: string; failedSignIns: number; lockedAt: string | null }[] };
    const row = lockouts.items.find((x) => x.username === "frank")!;
    expect(row.failedSignIns).toBe(5);
    expect(row.lockedAt).not.toBeNull();
    expect((await root.request("POST", `/api/v1/admins/${f.id}/unlock`)).status).toBe(204);
    expect((await root.request("POST", "/api/v1/admins/nope/unlock")).status).toBe(404);
    await c.signIn("frank", pw);
    const after = (await body(await root.request("GET", "/api/v1/lockouts"))) as { items: { username: string }[] };
    expect(after.items.map((x) => x.username)).not.toContain("frank");
  });

  test("the threshold is a setting", async () => {
    await root.request("PATCH", "/api/v1/settings", { lockoutThreshold: 2 });
    await newAdmin("gina");
    const c = new AdminClient(s.url);
    await c.signInFirstTime("gina", PW);
    await c.request("POST", "/api/v1/auth/sign-in", { username: "gina", password: "nope" });
    await c.request("POST", "/api/v1/auth/sign-in", { username: "gina", password: "nope" });
    expect((await c.request("POST", "/api/v1/auth/sign-in", { username: "gina", password: "Correct-Horse-42-battery" })).status).toBe(423);
    await root.request("PATCH", "/api/v1/settings", { lockoutThreshold: 5 });
    expect((await root.request("PATCH", "/api/v1/settings", { lockoutThreshold: 0 })).status).toBe(400);
    expect((await root.request("PATCH", "/api/v1/settings", { lockoutThreshold: "5" })).status).toBe(400);
  });

  test("unknown usernames answer like wrong passwords", async () => {
    const r = await fetch(`${s.url}/api/v1/auth/sign-in`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "nobody", password: "x" }) });
    expect(r.status).toBe(401);
    expect((await body(r)).error!.code).toBe("invalid_credentials");
  });
});

describe("two-factor sign-in", () => {
  test("enroll with a code, then sign-in needs a fresh code; a code works once; wrong codes count towards lockout", async () => {
    await newAdmin("hank");
    const c = new AdminClient(s.url);
    const pw = await c.signInFirstTime("hank", PW);
    const start = (await body(await c.request("POST", "/api/v1/auth/two-factor/enrollment"))) as { secret: string; uri: string; qrSvg: string };
    expect(start.uri).toMatch(/^otpauth:\/\/totp\/Outpost:hank\?/);
    expect(start.uri).toContain("period=30");
    expect(start.qrSvg).toMatch(/^<svg/);
    expect((await c.request("POST", "/api/v1/auth/two-factor", { code: "000000" })).status).toBe(400);
    const now = Date.now();
    expect((await c.request("POST", "/api/v1/auth/two-factor", { code: totpCode(start.secret, now) })).status).toBe(204);
    // At rest the secret is sealed under the data directory's key, not stored as is.
    const stored = s.ctx.storage.read().select({ t: administrators.totpSecret }).from(administrators).where(eq(administrators.username, "hank")).get()!.t!;
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain(start.secret);

    const other = new AdminClient(s.url);
    const need = await other.request("POST", "/api/v1/auth/sign-in", { username: "hank", password: pw });
    expect(need.status).toBe(401);
    expect((await body(need)).error!.code).toBe("totp_required");
    // The code used for enrollment cannot be used again, nor one from an earlier step.
    const reused = await other.request("POST", "/api/v1/auth/sign-in", { username: "hank", password: pw, totpCode: totpCode(start.secret, now) });
    expect(reused.status).toBe(401);
    expect((await other.request("POST", "/api/v1/auth/sign-in", { username: "hank", password: pw, totpCode: totpCode(start.secret, now - 30_000) })).status).toBe(401);
    // Three steps ahead is beyond the allowed skew even if a step boundary passes during the test.
    expect((await other.request("POST", "/api/v1/auth/sign-in", { username: "hank", password: pw, totpCode: totpCode(start.secret, now + 90_000) })).status).toBe(401);
    // The next step's code (within one step of skew) is accepted once.
    const next = totpCode(start.secret, now + 30_000);
    await other.signIn("hank", pw, next);
    expect((await other.request("POST", "/api/v1/auth/sign-in", { username: "hank", password: pw, totpCode: next })).status).toBe(401);
    const failures = (await body(await root.request("GET", "/api/v1/lockouts"))) as { items: { username: string; failedSignIns: number }[] };
    expect(failures.items.find((x) => x.username === "hank")!.failedSignIns).toBe(1);
    // Turning it off needs the password.
    expect((await other.request("DELETE", "/api/v1/auth/two-factor", { currentPassword: "wrong" })).status).toBe(401);
    expect((await other.request("DELETE", "/api/v1/auth/two-factor", { currentPassword: pw })).status).toBe(204);
  });

  test("two-factor endpoints are for sessions, not tokens", async () => {
    const t = (await body(await root.request("POST", "/api/v1/tokens", { label: "2fa probe" }))) as { token: string };
    const r = await fetch(`${s.url}/api/v1/auth/two-factor/enrollment`, { method: "POST", headers: { authorization: `Bearer ${t.token}` } });
    expect(r.status).toBe(403);
  });
});

describe("API tokens", () => {
  test("shown once, stored hashed, listed with last use, revocable", async () => {
    const r = await root.request("POST", "/api/v1/tokens", { label: "backup" });
    expect(r.status).toBe(201);
    const created = (await r.json()) as { token: string; info: { id: string; prefix: string; lastUsedAt: string | null } };
    expect(created.token).toMatch(/^opt_[0-9a-f]{48}$/);
    const row = s.ctx.storage.read().select().from(apiTokens).where(eq(apiTokens.id, created.info.id)).get()!;
    expect(row.tokenHash).not.toContain(created.token);
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    const listed = JSON.stringify(await body(await root.request("GET", "/api/v1/tokens")));
    expect(listed).not.toContain(created.token);
    const onePage = (await body(await root.request("GET", "/api/v1/tokens?limit=1&offset=0"))) as { items: unknown[]; total: number };
    expect(onePage.items).toHaveLength(1);
    expect(onePage.total).toBeGreaterThanOrEqual(2);
    expect((await root.request("GET", "/api/v1/tokens?limit=501")).status).toBe(400);

    const use = await fetch(`${s.url}/api/v1/networks`, { headers: { authorization: `Bearer ${created.token}` } });
    expect(use.status).toBe(200);
    // No CSRF for tokens: they are not sent by browsers on their own.
    const write = await fetch(`${s.url}/api/v1/networks`, { method: "POST", headers: { authorization: `Bearer ${created.token}`, "content-type": "application/json" }, body: JSON.stringify({ name: "Made by token" }) });
    expect(write.status).toBe(201);
    await s.ctx.writer.drain();
    const after = (await body(await root.request("GET", "/api/v1/tokens"))) as { items: { id: string; lastUsedAt: string | null }[] };
    expect(after.items.find((x) => x.id === created.info.id)!.lastUsedAt).not.toBeNull();
    const trail = (await body(await root.request("GET", "/api/v1/audit?action=network.create&actor=token:backup"))) as { total: number };
    expect(trail.total).toBe(1);

    expect((await root.request("DELETE", `/api/v1/tokens/${created.info.id}`)).status).toBe(204);
    expect((await fetch(`${s.url}/api/v1/networks`, { headers: { authorization: `Bearer ${created.token}` } })).status).toBe(401);
    expect((await root.request("DELETE", `/api/v1/tokens/${created.info.id}`)).status).toBe(404);
    expect((await root.request("POST", "/api/v1/tokens", { label: "" })).status).toBe(400);
    expect((await root.request("POST", "/api/v1/tokens", { label: "x", roleId: "nope" })).status).toBe(404);
  });
});

describe("no privilege escalation", () => {
  test("a role can hand out, change or take over only what it holds itself", async () => {
    const tokenAdmins = (await body(await root.request("POST", "/api/v1/roles", { name: "Token and admin clerk", permissions: ["tokens.read", "tokens.write", "admins.read", "admins.write", "roles.read", "roles.write"] }))) as { id: string };
    const clerk = await newAdmin("clerk", { kind: "super", roleId: tokenAdmins.id });
    const c = new AdminClient(s.url);
    await c.signInFirstTime("clerk", PW);
    const refused = async (r: Response) => {
      expect(r.status).toBe(403);
      expect((await body(r)).error!.message).toContain("you do not hold");
    };
    await refused(await c.request("POST", "/api/v1/tokens", { label: "mine now", roleId: "super-administrator" }));
    await refused(await c.request("POST", "/api/v1/admins", { name: "Sock", username: "sockpuppet", password: PW, kind: "super" }));
    await refused(await c.request("POST", "/api/v1/roles", { name: "Everything", permissions: ["networks.write", "tokens.read"] }));
    await refused(await c.request("PUT", `/api/v1/roles/${tokenAdmins.id}`, { name: "Token and admin clerk", permissions: ["tokens.read", "tokens.write", "admins.read", "admins.write", "roles.read", "roles.write", "settings.write"] }));
    const list = (await body(await c.request("GET", "/api/v1/admins?limit=500"))) as { items: { id: string; username: string }[] };
    const rootId = list.items.find((a) => a.username === "admin")!.id;
    await refused(await c.request("PUT", `/api/v1/admins/${rootId}/password`, { password: "Taken-Over-Passw0rd" }));
    await refused(await c.request("PUT", `/api/v1/admins/${clerk.id}/role`, { roleId: "super-administrator" }));
    await refused(await c.request("DELETE", `/api/v1/admins/${rootId}`));
    // Within its own permissions it works.
    expect((await c.request("POST", "/api/v1/tokens", { label: "clerk token", roleId: tokenAdmins.id })).status).toBe(201);
    expect((await c.request("POST", "/api/v1/admins", { name: "Net", username: "clerks-net-admin", password: PW, kind: "network", newNetworkName: "Clerk net" })).status).toBe(201);
  });
});

describe("roles", () => {
  test("create, update, delete; built-in role is fixed; unknown permissions refused", async () => {
    const perms = (await body(await root.request("GET", "/api/v1/permissions"))) as { items: { name: string }[] };
    expect(perms.items.map((p) => p.name)).toContain("networks.write");
    const r = (await body(await root.request("POST", "/api/v1/roles", { name: "Helpdesk", permissions: ["lockout.read", "lockout.write"] }))) as { id: string };
    expect((await root.request("POST", "/api/v1/roles", { name: "Helpdesk", permissions: [] })).status).toBe(409);
    const bad = await root.request("POST", "/api/v1/roles", { name: "Bad", permissions: ["root.everything"] });
    expect(bad.status).toBe(400);
    expect((await body(bad)).error!.details![0]!.path).toBe("permissions");
    expect(((await body(await root.request("PUT", `/api/v1/roles/${r.id}`, { name: "Helpdesk 2", permissions: ["lockout.read"] }))) as { permissions: string[] }).permissions).toEqual(["lockout.read"]);
    expect((await root.request("PUT", "/api/v1/roles/super-administrator", { name: "Weak", permissions: [] })).status).toBe(409);
    expect((await root.request("DELETE", "/api/v1/roles/super-administrator")).status).toBe(409);
    const rolePage = (await body(await root.request("GET", "/api/v1/roles?limit=1&offset=1"))) as { items: unknown[]; total: number };
    expect(rolePage.items).toHaveLength(1);
    expect(rolePage.total).toBeGreaterThanOrEqual(2);
    expect((await root.request("DELETE", `/api/v1/roles/${r.id}`)).status).toBe(204);
    expect((await root.request("GET", `/api/v1/roles/${r.id}`)).status).toBe(404);
  });
});

describe("settings, room bot, appearance", () => {
  test("settings round-trip and refuse unknown keys", async () => {
    const r = await body(await root.request("PATCH", "/api/v1/settings", { allowPrivateIps: true }));
    expect(r.allowPrivateIps).toBe(true);
    expect((await body(await root.request("GET", "/api/v1/settings"))).allowPrivateIps).toBe(true);
    expect((await root.request("PATCH", "/api/v1/settings", { bogus: true })).status).toBe(400);
  });

  test("room bot: off by default, on and off", async () => {
    expect((await body(await root.request("GET", "/api/v1/room-bot"))).enabled).toBe(false);
    expect((await body(await root.request("PUT", "/api/v1/room-bot", { enabled: true }))).enabled).toBe(true);
    expect((await body(await root.request("GET", "/api/v1/room-bot"))).enabled).toBe(true);
    expect((await body(await root.request("PUT", "/api/v1/room-bot", { enabled: false }))).enabled).toBe(false);
    expect((await body(await root.request("GET", "/api/v1/room-bot"))).enabled).toBe(false);
    expect((await root.request("PUT", "/api/v1/room-bot", { enabled: "no" })).status).toBe(400);
    await root.request("PUT", "/api/v1/room-bot", { enabled: true });
  });

  test("logo: PNG accepted and served as image/png, SVG/HTML/polyglots refused; text set", async () => {
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
    const put = (bytes: Uint8Array, type: string) =>
      fetch(`${s.url}/api/v1/appearance/logo`, { method: "PUT", headers: { cookie: root.cookie, "x-csrf-token": root.csrf, "content-type": type }, body: new Uint8Array(bytes) });
    expect((await put(png, "image/png")).status).toBe(200);
    const served = await fetch(`${s.url}/appearance/logo`);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(served.headers.get("x-content-type-options")).toBe("nosniff");
    expect(served.headers.get("content-security-policy")).toContain("sandbox");
    expect(Buffer.from(await served.arrayBuffer()).equals(png)).toBe(true);

    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    expect((await put(svg, "image/png")).status).toBe(400);
    expect((await put(svg, "image/svg+xml")).status).toBe(415);
    const polyglot = Buffer.concat([png, Buffer.from("<html><script>alert(1)</script></html>")]);
    expect((await put(polyglot, "image/png")).status).toBe(400);
    const corrupt = Buffer.from(png);
    corrupt[30] = corrupt[30]! ^ 0xff;
    expect((await put(corrupt, "image/png")).status).toBe(400);
    expect((await put(png, "image/jpeg")).status).toBe(400);
    expect((await put(new Uint8Array(300 * 1024), "image/png")).status).toBe(400);

    expect((await root.request("PUT", "/api/v1/appearance/text", { loginText: "Welcome to Example Corp" })).status).toBe(200);
    expect((await root.request("PUT", "/api/v1/appearance/text", { loginText: "x".repeat(1001) })).status).toBe(400);
    const pub = await body(await fetch(`${s.url}/api/v1/appearance`));
    expect(pub.loginText).toBe("Welcome to Example Corp");
    const signInPage = await (await fetch(`${s.url}/sign-in`)).text();
    expect(signInPage).toContain("Welcome to Example Corp");
    expect(signInPage).toContain("/appearance/logo");
    expect((await root.request("DELETE", "/api/v1/appearance/logo")).status).toBe(200);
    expect((await fetch(`${s.url}/appearance/logo`)).status).toBe(404);
  });
});

describe("audit log", () => {
  test("records who, what, when and from where; filters, paginates and exports CSV", async () => {
    const all = (await body(await root.request("GET", "/api/v1/audit?limit=500"))) as { items: { actorName: string; action: string; ip: string | null; at: string }[]; total: number };
    expect(all.total).toBeGreaterThan(10);
    const create = all.items.find((e) => e.action === "network.create" && e.actorName === "admin")!;
    expect(create.ip).toBe("127.0.0.1");
    expect(Date.parse(create.at)).toBeGreaterThan(Date.now() - 120_000);
    const signIns = (await body(await root.request("GET", "/api/v1/audit?action=admin.sign_in&actor=admin"))) as { items: { action: string }[] };
    expect(signIns.items.length).toBeGreaterThan(0);
    expect(signIns.items.every((e) => e.action.startsWith("admin.sign_in"))).toBe(true);
    const page2 = (await body(await root.request("GET", "/api/v1/audit?limit=2&offset=2"))) as { items: unknown[] };
    expect(page2.items).toHaveLength(2);
    const future = (await body(await root.request("GET", `/api/v1/audit?from=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`))) as { total: number };
    expect(future.total).toBe(0);
    expect((await root.request("GET", "/api/v1/audit?from=yesterday")).status).toBe(400);

    const csvRes = await root.request("GET", "/api/v1/audit.csv?action=network.");
    expect(csvRes.headers.get("content-type")).toContain("text/csv");
    const rows = parse(await csvRes.text(), { columns: true }) as { action: string; actor: string }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.action.startsWith("network."))).toBe(true);
  });

  test("CSV cells that a spreadsheet would run as formulas are neutralised", async () => {
    await audit(s.ctx, { actor: { type: "system", id: null, name: '=HYPERLINK("http://evil")' }, action: "test.csv", target: "+1", details: {} });
    const text = await (await root.request("GET", "/api/v1/audit.csv?action=test.csv")).text();
    expect(text).toContain(`'=HYPERLINK`);
    expect(text).toContain(",'+1,");
  });
});

describe("crash report", () => {
  test("holds logs, redacted config, versions and health, and no secret of any kind", async () => {
    // Secrets that exist in this deployment right now:
    const token = ((await body(await root.request("POST", "/api/v1/tokens", { label: "secret-probe" }))) as { token: string }).token;
    await newAdmin("ivan");
    const ivan = new AdminClient(s.url);
    const ivanPw = await ivan.signInFirstTime("ivan", PW);
    const enrollment = (await body(await ivan.request("POST", "/api/v1/auth/two-factor/enrollment"))) as { secret: string };
    await ivan.request("POST", "/api/v1/auth/two-factor", { code: totpCode(enrollment.secret) });
    const hashes = s.ctx.storage.read().select({ h: administrators.passwordHash, t: administrators.totpSecret }).from(administrators).all();
    const sessionIds = [root.cookie.split("=")[1]!, ivan.cookie.split("=")[1]!];
    const sessionHashes = s.ctx.storage.read().select({ h: adminSessions.idHash }).from(adminSessions).all().map((r) => r.h);
    const tokenHashes = s.ctx.storage.read().select({ h: apiTokens.tokenHash }).from(apiTokens).all().map((r) => r.h);
    // A careless log call must not leak either.
    s.ctx.log.logger.info({ token, password: ivanPw, nested: { totpSecret: enrollment.secret, sessionId: sessionIds[0] }, apiKey: "k-123456" }, `debug ${token} ${sessionIds[1]}`);

    const res = await root.request("GET", "/api/v1/crash-report");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
    expect(Object.keys(files).sort()).toEqual(["README.txt", "config.json", "health.json", "logs.jsonl", "versions.json"]);
    const all = Object.values(files).map((f) => strFromU8(f)).join("\n");
    expect(all).toContain("Outpost is ready");
    expect(JSON.parse(strFromU8(files["versions.json"]!)).outpost).toBe(s.ctx.version);
    expect(JSON.parse(strFromU8(files["health.json"]!)).ready).toBe(true);
    const secrets = [
      token,
      ivanPw,
      PW,
      "Correct-Horse-42-battery",
      s.firstAdminPassword!,
      enrollment.secret,
      "k-123456",
      root.csrf,
      ivan.csrf,
      ...sessionIds,
      ...sessionHashes,
      ...tokenHashes,
      ...hashes.map((h) => h.h),
      ...hashes.map((h) => h.t).filter((t): t is string => !!t),
    ];
    for (const secret of secrets) expect(all, `leaked ${secret.slice(0, 6)}…`).not.toContain(secret);
    expect(all).not.toMatch(/\$argon2/);
  });
});

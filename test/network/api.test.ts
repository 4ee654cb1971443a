// The network administrator's REST API through a real server: happy paths,
// validation (each bad input names its field), audit records with the network id.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createUsers } from "../../src/modules/users/users.service.ts";
import { listAudit } from "../../src/modules/audit/audit.service.ts";
import { openClientConfig, scryptDerive } from "../../src/modules/client-config/format.ts";
import { networkAdmin, startNetWorld, USER_PASSWORD, type NetWorld } from "./setup.ts";

let w: NetWorld;
let base = "";
type Json = Record<string, unknown> & { items?: Record<string, unknown>[] };
const call = async (method: string, path: string, body?: unknown) => {
  const res = await w.a.request(method, base + path, body);
  const text = await res.text();
  return { status: res.status, body: (text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text) as Json, headers: res.headers };
};
/** Polls a bulk job until it leaves queued/running. */
const finished = async (id: string) => {
  for (let i = 0; i < 600; i++) {
    const j = (await call("GET", `/users/bulk/jobs/${id}`)).body;
    if (j.state !== "queued" && j.state !== "running") return j;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`bulk job ${id} did not finish`);
};
const fields = (b: Json) => ((b.error as { details?: { path: string }[] }).details ?? []).map((d) => d.path);

beforeAll(async () => {
  w = await startNetWorld();
  base = `/api/v1/networks/${w.netA}`;
}, 60_000);
afterAll(async () => {
  await w?.close();
});

describe("team directory", () => {
  test("create, read, edit, search, sort and page", async () => {
    const created = await call("POST", "/users", { username: "Carol.Jones", password: USER_PASSWORD, firstName: "Carol", lastName: "Jones", type: "webadmin" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username: "carol.jones", status: "pending", type: "webadmin" });
    await createUsers(w.s.ctx, Array.from({ length: 60 }, (_, i) => ({ networkId: w.netA, username: `user${String(i).padStart(2, "0")}`, password: USER_PASSWORD, lastName: `Zed${i}` })));
    const page1 = await call("GET", "/users?limit=25&offset=0&sort=username");
    expect(page1.body.total).toBe(61);
    expect(page1.body.items!.length).toBe(25);
    expect(page1.body.items![0]!.username).toBe("carol.jones");
    const page3 = await call("GET", "/users?limit=25&offset=50&sort=username&order=desc");
    expect(page3.body.items!.length).toBe(11);
    expect(page3.body.items!.at(-1)!.username).toBe("carol.jones");
    const found = await call("GET", "/users?search=JONES");
    expect(found.body.items!.map((u) => u.username)).toEqual(["carol.jones"]);
    // % and _ are plain characters in a search.
    expect((await call("GET", "/users?search=%25")).body.total).toBe(0);
    const id = created.body.id as string;
    const edited = await call("PATCH", `/users/${id}`, { firstName: "Caroline", status: "active" });
    expect(edited.body).toMatchObject({ firstName: "Caroline", status: "active" });
    expect((await call("GET", "/users?status=active")).body.total).toBe(1);
  });

  test("validation names the field", async () => {
    const bad = await call("POST", "/users", { username: "-x", password: USER_PASSWORD });
    expect(bad.status).toBe(400);
    expect(fields(bad.body)).toContain("username");
    const weak = await call("POST", "/users", { username: "weak", password: "short" });
    expect(weak.status).toBe(400);
    expect(fields(weak.body)).toContain("password");
    const dup = await call("POST", "/users", { username: "CAROL.JONES", password: USER_PASSWORD });
    expect(dup.status).toBe(409);
    const extra = await call("POST", "/users", { username: "x1", password: USER_PASSWORD, admin: true });
    expect(extra.status).toBe(400);
    expect((await call("GET", "/users?limit=0")).status).toBe(400);
    expect((await call("GET", "/users?sort=password")).status).toBe(400);
    const malformed = await fetch(w.s.url + base + "/users", { method: "POST", headers: { cookie: w.a.cookie, "x-csrf-token": w.a.csrf, "content-type": "application/json" }, body: "{nope" });
    expect(malformed.status).toBe(400);
    expect((await call("PATCH", "/users/00000000-0000-4000-8000-000000000000", { firstName: "x" })).status).toBe(404);
    expect((await call("POST", "/users", { username: "group.less", password: USER_PASSWORD, securityGroupId: "nope" })).status).toBe(404);
  });

  test("suspend, unsuspend, reset devices, delete; the CSV download", async () => {
    const u = (await call("POST", "/users", { username: "dave", password: USER_PASSWORD, firstName: "=SUM(A1)" })).body;
    expect((await call("POST", `/users/${u.id}/suspend`)).body.status).toBe("suspended");
    expect((await call("POST", `/users/${u.id}/unsuspend`)).body.status).toBe("active");
    expect((await call("POST", `/users/${u.id}/reset-devices`)).body).toEqual({ reset: 0 });
    const csv = await call("GET", "/users.csv");
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    expect(String(csv.body).split("\n")[0]).toBe("username,first_name,last_name,status,type,security_group,created_at");
    // A name a spreadsheet would run as a formula is written as text.
    expect(String(csv.body)).toContain("dave,'=SUM(A1),");
    expect((await call("DELETE", `/users/${u.id}`)).status).toBe(204);
    expect((await call("GET", `/users/${u.id}`)).status).toBe(404);
  });

  test("bulk by CSV: template, preview with an unknown row, suspend, deletion needs acknowledgement", async () => {
    const tpl = await call("GET", "/users/bulk/template");
    expect(String(tpl.body).startsWith("username\n")).toBe(true);
    const csv = "username\nuser01\nUSER02\nghost\n\nuser03\n";
    const preview = await call("POST", "/users/bulk/preview", { csv });
    expect(preview.body).toMatchObject({ rows: 4, unmatched: [{ row: 4, username: "ghost" }] });
    expect((preview.body.matched as unknown[]).length).toBe(3);
    const run = await call("POST", "/users/bulk", { action: "suspend", csv });
    expect(run.status).toBe(202);
    expect(await finished(run.body.id as string)).toMatchObject({ state: "done", kind: "suspend", total: 4, processed: 4, matched: 3, changed: 3, unmatched: 1 });
    expect((await call("GET", `/users/bulk/jobs/${run.body.id}/report.csv`)).body).toBe("row,username,result\n4,ghost,not found\n");
    expect((await call("GET", "/users?status=suspended")).body.total).toBe(3);
    const noAck = await call("POST", "/users/bulk", { action: "delete", csv });
    expect(noAck.status).toBe(400);
    expect(fields(noAck.body)).toContain("acknowledge");
    const del = await call("POST", "/users/bulk", { action: "delete", csv, acknowledge: true });
    expect(del.status).toBe(202);
    expect(await finished(del.body.id as string)).toMatchObject({ state: "done", matched: 3, changed: 3 });
    const empty = await call("POST", "/users/bulk/preview", { csv: "username\n" });
    expect(empty.status).toBe(400);
    expect(fields(empty.body)).toContain("file");
    expect((await call("POST", "/users/bulk", { action: "explode", csv })).status).toBe(400);
    const audit = listAudit(w.s.ctx, { action: "users.bulk.start" }, { limit: 10, offset: 0 });
    expect(audit.items.length).toBe(2);
    expect(audit.items[0]!.networkId).toBe(w.netA);
  });

  test("a bulk suspend of 10,000 users by JSON runs as a job and finishes", async () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `bulk${i}`);
    await createUsers(w.s.ctx, names.map((username) => ({ networkId: w.netA, username, password: USER_PASSWORD })), { argon2: { memoryCost: 1024, timeCost: 1 } });
    const t0 = performance.now();
    const run = await call("POST", "/users/bulk", { action: "suspend", csv: "username\n" + names.join("\n") + "\nnot-there\n" });
    expect(run.status).toBe(202);
    expect(await finished(run.body.id as string)).toMatchObject({ total: 10_001, matched: 10_000, changed: 10_000, unmatched: 1 });
    expect(performance.now() - t0).toBeLessThan(10_000);
  }, 60_000);
});

describe("bots", () => {
  test("usernames end in bot; edit only while pending; delete", async () => {
    const bad = await call("POST", "/bots", { username: "helper", password: USER_PASSWORD });
    expect(bad.status).toBe(400);
    expect(fields(bad.body)).toContain("username");
    const bot = (await call("POST", "/bots", { username: "alertsbot", password: USER_PASSWORD })).body;
    expect(bot.type).toBe("bot");
    expect((await call("GET", "/bots")).body.items!.map((b) => b.username)).toEqual(["alertsbot"]);
    // Bots are not in the people directory, and the people endpoints do not touch them.
    expect((await call("GET", "/users?search=alertsbot")).body.total).toBe(0);
    expect((await call("PATCH", `/users/${bot.id}`, { firstName: "x" })).status).toBe(404);
    expect((await call("PATCH", `/bots/${bot.id}`, { firstName: "Alerts" })).body.firstName).toBe("Alerts");
    await call("POST", `/users/${bot.id}/unsuspend`);
    const locked = await call("PATCH", `/bots/${bot.id}`, { firstName: "Later" });
    expect(locked.status).toBe(409);
    expect((await call("DELETE", `/bots/${bot.id}`)).status).toBe(204);
  });
});

describe("security groups and tags", () => {
  test("default group cannot be deleted; member counts; settings validated; at most 100 groups", async () => {
    const groups = (await call("GET", "/security-groups")).body.items!;
    const def = groups.find((g) => g.isDefault)!;
    expect(def.memberCount).toBeGreaterThan(0);
    expect((await call("DELETE", `/security-groups/${def.id}`)).status).toBe(409);
    const g = (await call("POST", "/security-groups", { name: "Field team" })).body;
    expect(g.memberCount).toBe(0);
    const tooMany = await call("PATCH", `/security-groups/${g.id}`, { settings: { messaging: { quickResponses: Array.from({ length: 11 }, () => "ok") } } });
    expect(tooMany.status).toBe(400);
    expect(fields(tooMany.body)).toContain("settings.messaging.quickResponses");
    const tooLong = await call("PATCH", `/security-groups/${g.id}`, { settings: { messaging: { quickResponses: ["x".repeat(8001)] } } });
    expect(fields(tooLong.body)).toContain("settings.messaging.quickResponses.0");
    const range = await call("PATCH", `/security-groups/${g.id}`, { settings: { messaging: { maxExpirationSeconds: 10 }, security: { suspendAfter: 101 } } });
    expect(fields(range.body)).toEqual(expect.arrayContaining(["settings.messaging.maxExpirationSeconds", "settings.security.suspendAfter"]));
    const unknown = await call("PATCH", `/security-groups/${g.id}`, { settings: { messaging: { teleport: true } } });
    expect(unknown.status).toBe(400);
    const okay = await call("PATCH", `/security-groups/${g.id}`, { settings: { messaging: { quickResponses: ["On my way", "y".repeat(8000)], maxExpirationSeconds: 3600 } } });
    expect(okay.status).toBe(200);
    expect((okay.body.settings as { messaging: { maxExpirationSeconds: number; attachments: boolean } }).messaging).toMatchObject({ maxExpirationSeconds: 3600, attachments: true });
    const u = (await call("POST", "/users", { username: "erin", password: USER_PASSWORD, securityGroupId: g.id })).body;
    expect((await call("GET", `/security-groups/${g.id}`)).body.memberCount).toBe(1);
    expect((await call("POST", "/security-groups", { name: "Field team" })).status).toBe(409);
    const enforcement = (await call("GET", "/security-groups/enforcement")).body;
    expect(enforcement["messaging.maxExpirationSeconds"]).toBe("server");
    expect(enforcement["messaging.linkPreviews"]).toBe("client");
    // Deleting a group moves its members to Default.
    expect((await call("DELETE", `/security-groups/${g.id}`)).body).toEqual({ movedUsers: 1 });
    expect((await call("GET", `/users/${u.id}`)).body.securityGroupId).toBe(def.id);
    const have = (await call("GET", "/security-groups")).body.items!.length;
    for (let i = have; i < 100; i++) expect((await call("POST", "/security-groups", { name: `G${i}` })).status).toBe(201);
    const over = await call("POST", "/security-groups", { name: "One too many" });
    expect(over.status).toBe(409);
  }, 30_000);

  test("tags: create, validate colour, apply to a group, delete", async () => {
    const bad = await call("POST", "/security-tags", { name: "Secret", kind: "network", colour: "red" });
    expect(bad.status).toBe(400);
    expect(fields(bad.body)).toContain("colour");
    const t = (await call("POST", "/security-tags", { name: "Secret", kind: "override", colour: "#AA0000" })).body;
    expect(t.colour).toBe("#aa0000");
    const def = (await call("GET", "/security-groups")).body.items!.find((g) => g.isDefault)!;
    expect((await call("PATCH", `/security-groups/${def.id}`, { tagIds: [t.id] })).body.tagIds).toEqual([t.id]);
    expect((await call("GET", "/security-tags")).body.items![0]!.groupIds).toEqual([def.id]);
    expect((await call("PATCH", `/security-groups/${def.id}`, { tagIds: ["nope"] })).status).toBe(400);
    expect((await call("PUT", `/security-tags/${t.id}`, { name: "Top", kind: "network", colour: "#00aa00" })).body.name).toBe("Top");
    expect((await call("DELETE", `/security-tags/${t.id}`)).status).toBe(204);
  });
});

describe("network profile, options, tokens, invitations, guests", () => {
  test("profile with counts; read receipts; name validated", async () => {
    const p = (await call("GET", "/profile")).body;
    expect(p).toMatchObject({ id: w.netA, name: "Network A", readReceipts: true });
    expect((p.counts as { securityGroups: number }).securityGroups).toBeGreaterThan(0);
    expect((await call("PATCH", "/profile", { readReceipts: false })).body.readReceipts).toBe(false);
    expect((await call("PATCH", "/profile", { name: "" })).status).toBe(400);
    expect((await call("PATCH", "/profile", { name: "Network A", readReceipts: true })).body.readReceipts).toBe(true);
  });

  test("event-logging verbosity applies to the running server at once; file management; calling TCP port", async () => {
    expect(w.s.ctx.log.verbosity.level).toBe("activity");
    const o = (await call("PATCH", "/options", { eventLogging: "ip", fileManagement: false })).body;
    expect(o).toMatchObject({ eventLogging: "ip", fileManagement: false, runningEventLogging: "ip", callingTcpPort: w.s.ctx.config.callingTcpPort });
    expect(w.s.ctx.log.verbosity.level).toBe("ip");
    // The access log now carries the client address.
    await call("GET", "/options");
    expect(w.s.ctx.log.ring.snapshot().some((l) => l.includes('"ip":"127.0.0.1"'))).toBe(true);
    expect((await call("PATCH", "/options", { eventLogging: "everything" })).status).toBe(400);
    await call("PATCH", "/options", { eventLogging: "activity" });
    expect(w.s.ctx.log.verbosity.level).toBe("activity");
  });

  test("network tokens reach this network only and can be revoked", async () => {
    const t = (await call("POST", "/tokens", { label: "script" })).body;
    expect(String(t.token)).toMatch(/^opt_/);
    const use = await fetch(`${w.s.url}${base}/users?limit=1`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(use.status).toBe(200);
    expect((await call("GET", "/tokens")).body.items!.map((x) => x.label)).toContain("script");
    expect((await call("DELETE", `/tokens/${t.id}`)).status).toBe(204);
    expect((await fetch(`${w.s.url}${base}/users?limit=1`, { headers: { authorization: `Bearer ${t.token}` } })).status).toBe(401);
  });

  test("invite an existing administrator, who accepts and then manages the network", async () => {
    const other = await networkAdmin(w.s, w.sup, "carla-admin", { newNetworkName: "Network C" });
    expect((await call("POST", "/invitations", { username: "nobody-here" })).status).toBe(400);
    expect((await call("POST", "/invitations", { username: "carla-admin" })).status).toBe(201);
    expect((await call("POST", "/invitations", { username: "alice-admin" })).status).toBe(409);
    expect((await other.client.request("GET", `${base}/users`)).status).toBe(403);
    const mine = (await (await other.client.request("GET", "/api/v1/me/networks")).json()) as { invitations: { id: string }[] };
    expect(mine.invitations.map((i) => i.id)).toEqual([w.netA]);
    expect((await other.client.request("POST", `/api/v1/me/invitations/${w.netB}`, { accept: true })).status).toBe(404);
    expect((await other.client.request("POST", `/api/v1/me/invitations/${w.netA}`, { accept: true })).status).toBe(204);
    expect((await other.client.request("GET", `${base}/users?limit=1`)).status).toBe(200);
  });

  test("guests: users of other networks can be blocked and unblocked; own users are not guests", async () => {
    const [guest] = await createUsers(w.s.ctx, [{ networkId: w.netB, username: "visitor", password: USER_PASSWORD }]);
    expect((await call("PUT", `/guests/${guest!.id}/block`)).status).toBe(204);
    expect((await call("GET", "/guests")).body.items).toEqual([{ userId: guest!.id, username: "visitor", networkId: w.netB, networkName: "Network B", blocked: true }]);
    expect((await call("DELETE", `/guests/${guest!.id}/block`)).status).toBe(204);
    expect((await call("GET", "/guests")).body.total).toBe(0);
    expect((await call("PUT", "/guests/00000000-0000-4000-8000-000000000000/block")).status).toBe(404);
  });
});

describe("client configuration files", () => {
  test("create, list, download again, open with the password; wrong password and expired fail clearly", async () => {
    const def = (await call("GET", "/security-groups")).body.items!.find((g) => g.isDefault)!;
    const bad = await call("POST", "/client-configs", { name: "", securityGroupId: def.id, expiresInDays: 0, password: "short" });
    expect(bad.status).toBe(400);
    expect(fields(bad.body)).toEqual(expect.arrayContaining(["name", "expiresInDays", "password"]));
    const created = await call("POST", "/client-configs", { name: "Field phones", securityGroupId: def.id, expiresInDays: 30, password: "a long file password" });
    expect(created.status).toBe(201);
    expect(String(created.body.deeplink)).toMatch(/^outpost:\/\/configure\?url=/);
    const file = await fetch(`${w.s.url}${base}/client-configs/${created.body.id}/file`, { headers: { cookie: w.a.cookie } });
    expect(file.headers.get("content-disposition")).toContain("Field_phones.outpost-config");
    const text = await file.text();
    const again = await fetch(`${w.s.url}${base}/client-configs/${created.body.id}/file`, { headers: { cookie: w.a.cookie } });
    expect(await again.text()).toBe(text);
    // The server seals with node:crypto's scrypt; the portable one (what browsers run) opens it too.
    const opened = await openClientConfig(text, "a long file password", { derive: scryptDerive });
    expect(opened).toMatchObject({ name: "Field phones", networkId: w.netA, securityGroupId: def.id, host: w.s.url });
    expect(opened.certificates).toBeUndefined();
    await expect(openClientConfig(text, "wrong password")).rejects.toMatchObject({ code: "wrong_password" });
    await expect(openClientConfig(text, "a long file password", { now: new Date(Date.now() + 31 * 86_400_000) })).rejects.toMatchObject({ code: "expired" });
    // The public landing page offers it; expiring ends both.
    const publicId = String(created.body.landingUrl).split("/config/")[1]!;
    expect((await fetch(`${w.s.url}/config/${publicId}`)).status).toBe(200);
    expect(await (await fetch(`${w.s.url}/config/${publicId}/file`)).text()).toBe(text);
    expect((await call("GET", "/client-configs")).body.items!.length).toBe(1);
    expect((await call("POST", `/client-configs/${created.body.id}/expire`)).status).toBe(204);
    expect((await call("GET", "/client-configs")).body.items!.length).toBe(0);
    const gone = await call("GET", `/client-configs/${created.body.id}/file`);
    expect(gone.status).toBe(410);
    expect((gone.body.error as { message: string }).message).toContain("expired");
    expect((await fetch(`${w.s.url}/config/${publicId}`)).status).toBe(410);
    expect((await fetch(`${w.s.url}/config/not-a-real-id`)).status).toBe(404);
    expect((await call("POST", "/client-configs", { name: "pinned", securityGroupId: def.id, expiresInDays: 1, password: "long enough", pinCertificates: true })).status).toBe(400);
  }, 30_000);
});

describe("audit", () => {
  test("every action above is recorded with the network id", () => {
    const rows = listAudit(w.s.ctx, { networkId: w.netA }, { limit: 10_000, offset: 0 }).items;
    const actions = new Set(rows.map((r) => r.action));
    for (const a of ["user.create", "user.update", "user.suspend", "user.unsuspend", "user.delete", "user.reset_devices", "bot.create", "bot.update", "security_group.create", "security_group.update", "security_group.delete", "security_tag.create", "network.update_profile", "network.update_options", "network_token.create", "network_token.revoke", "network.invite_admin", "network.accept_invitation", "guest.block", "guest.unblock", "client_config.create", "client_config.expire"]) {
      expect(actions, a).toContain(a);
    }
    expect(rows.every((r) => r.networkId === w.netA)).toBe(true);
    expect(rows.find((r) => r.action === "user.create")!.actorName).toBe("alice-admin");
  });
});

describe("guest block enforcement point", () => {
  test("the relay's check sees a block at once and forgets it on unblock", async () => {
    const { isGuestBlocked } = await import("../../src/modules/network-admin/network-admin.service.ts");
    const [guest] = await createUsers(w.s.ctx, [{ networkId: w.netB, username: "wanderer", password: USER_PASSWORD }]);
    expect(isGuestBlocked(w.s.ctx, w.netA, guest!.id)).toBe(false);
    await call("PUT", `/guests/${guest!.id}/block`);
    expect(isGuestBlocked(w.s.ctx, w.netA, guest!.id)).toBe(true);
    expect(isGuestBlocked(w.s.ctx, w.netB, guest!.id)).toBe(false);
    await call("DELETE", `/guests/${guest!.id}/block`);
    expect(isGuestBlocked(w.s.ctx, w.netA, guest!.id)).toBe(false);
  });
});

describe("my account", () => {
  test("a network administrator changes their own name; an empty one is refused", async () => {
    expect((await w.a.request("PATCH", "/api/v1/me", { name: "Alice Admin" })).status).toBe(204);
    const bad = await w.a.request("PATCH", "/api/v1/me", { name: "  " });
    expect(bad.status).toBe(400);
    const page = await fetch(`${w.s.url}/network/account`, { headers: { cookie: w.a.cookie } });
    expect(await page.text()).toContain('value="Alice Admin"');
  });
});

describe("restart", () => {
  test("a chosen event-logging verbosity applies again after a restart", async () => {
    const { startTestServer } = await import("../support/server.ts");
    const { updateNetworkOptions } = await import("../../src/modules/network-admin/network-admin.service.ts");
    const { createNetwork } = await import("../../src/modules/networks/networks.service.ts");
    const { systemActor } = await import("../../src/modules/audit/audit.service.ts");
    const first = await startTestServer({}, { keepData: true });
    const n = await createNetwork(first.ctx, { name: "Restarted" });
    await updateNetworkOptions(first.ctx, systemActor, n.id, { eventLogging: "messaging" });
    await first.close();
    const second = await startTestServer({ dataDir: first.dataDir });
    try {
      expect(second.ctx.log.verbosity.level).toBe("messaging");
    } finally {
      await second.close();
    }
  }, 30_000);
});

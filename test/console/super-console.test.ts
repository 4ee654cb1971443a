// The console's forms as a browser without JavaScript sends them: urlencoded
// or multipart POSTs with _csrf, answered by a redirect (POST-redirect-GET)
// or by the same form again with the error next to its field.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { unzipSync } from "fflate";
import { startTestServer, type TestServer } from "../support/server.ts";
import { AdminClient } from "../support/admin-client.ts";
import { resetAdminPassword } from "../../src/modules/admins/admins.service.ts";
import { totpCode } from "../../src/modules/admins/totp.ts";

let s: TestServer;
let root: AdminClient;
const PW = "Initial-Passw0rd-x";

beforeAll(async () => {
  s = await startTestServer();
  root = new AdminClient(s.url);
  await root.signInFirstTime("admin", s.firstAdminPassword!);
});
afterAll(async () => {
  await s?.close();
});

/** The error text shown next to a field, or null. */
function fieldError(html: string, field: string): string | null {
  const m = new RegExp(`id="f-${field}-error"><span class="visually-hidden">Error: </span>([^<]*)<`).exec(html);
  return m?.[1] ?? null;
}
const location = (r: Response) => r.headers.get("location") ?? "";

describe("sign-in page", () => {
  test("wrong password: 401, the form again with the error next to the password, the username kept", async () => {
    const r = await fetch(`${s.url}/sign-in`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "username=admin&password=nope", redirect: "manual" });
    expect(r.status).toBe(401);
    const html = await r.text();
    expect(fieldError(html, "password")).toBe("the username or password is wrong");
    expect(html).toContain('value="admin"');
    expect(html).not.toContain("nope");
  });

  test("a form posted from another site is refused, sign-in included", async () => {
    const post = (origin: string) =>
      fetch(`${s.url}/sign-in`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin }, body: "username=admin&password=nope", redirect: "manual" });
    expect((await post("https://evil.example")).status).toBe(403);
    const crossSite = await fetch(`${s.url}/sign-in`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "cross-site" }, body: "username=admin&password=nope", redirect: "manual" });
    expect(crossSite.status).toBe(403);
    expect((await post(s.url)).status).toBe(401);
    const r = await fetch(`${s.url}/admin/networks`, { method: "POST", headers: { cookie: root.cookie, "content-type": "application/x-www-form-urlencoded", origin: "http://attacker.test" }, body: `_csrf=${root.csrf}&name=x`, redirect: "manual" });
    expect(r.status).toBe(403);
  });

  test("empty fields are named", async () => {
    const r = await fetch(`${s.url}/sign-in`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "username=&password=", redirect: "manual" });
    expect(r.status).toBe(400);
    const html = await r.text();
    expect(fieldError(html, "username")).toBe("enter your username");
    expect(fieldError(html, "password")).toBe("enter your password");
  });

  test("follows a local next page, never another site", async () => {
    const c = new AdminClient(s.url);
    await c.signInFirstTime((await createAdmin("nextuser", "super")).username, PW);
    const go = async (next: string) => {
      const fresh = new AdminClient(s.url);
      const r = await fresh.form("/sign-in", { username: "nextuser", password: "Correct-Horse-42-battery", next });
      return location(r);
    };
    expect(await go("/admin/audit")).toBe("/admin/audit");
    expect(await go("//evil.example/admin")).toBe("/admin");
    expect(await go("https://evil.example/")).toBe("/admin");
    expect(await go("/admin/../../x")).toBe("/admin");
  });

  test("a console page without a session redirects to sign-in and back", async () => {
    const r = await fetch(`${s.url}/admin/networks`, { redirect: "manual" });
    expect(r.status).toBe(303);
    expect(location(r)).toBe("/sign-in?next=%2Fadmin%2Fnetworks");
    const page = await (await fetch(`${s.url}${location(r)}`)).text();
    expect(page).toContain('name="next" value="/admin/networks"');
  });
});

async function createAdmin(username: string, kind: "super" | "network", extra: Record<string, string> = {}) {
  const r = await root.request("POST", "/api/v1/admins", { name: username, username, password: PW, kind, ...(kind === "network" ? { newNetworkName: `n-${username}` } : {}), ...extra });
  expect(r.status).toBe(201);
  return (await r.json()) as { id: string; username: string; networks: { id: string }[] };
}

describe("networks", () => {
  test("create with an error, then for real; rename; assign; delete only with the typed name", async () => {
    let r = await root.form("/admin/networks", { name: "" });
    expect(r.status).toBe(400);
    expect(fieldError(await r.text(), "name")).toBe("must not be empty");
    r = await root.form("/admin/networks", { name: "Lakeside", federationDomain: "bad domain" });
    expect(fieldError(await r.text(), "federationDomain")).toContain("domain name");
    const nadmin = await createAdmin("lakeadmin", "network");
    r = await root.form("/admin/networks", { name: "Lakeside", federationDomain: "lake.example.org", adminIds: [nadmin.id] });
    expect(r.status).toBe(303);
    const detail = location(r);
    expect(detail).toMatch(/^\/admin\/networks\/[0-9a-f-]{36}\?notice=network-created$/);
    const id = detail.split("/")[3]!.split("?")[0]!;
    const page = await (await root.request("GET", detail)).text();
    expect(page).toContain("The network is created.");
    expect(page).toContain("lakeadmin");

    r = await root.form(`/admin/networks/${id}/rename`, { name: "  ", federationDomain: "" });
    expect(fieldError(await r.text(), "name")).toContain("1 to 100");
    r = await root.form(`/admin/networks/${id}/rename`, { name: "Lakeside East", federationDomain: "" });
    expect(location(r)).toContain("notice=network-renamed");
    r = await root.form(`/admin/networks/${id}/administrators`, {});
    expect(location(r)).toContain("notice=network-admins");

    const confirm = await (await root.request("GET", `/admin/networks/${id}/delete`)).text();
    expect(confirm).toContain("1 security group(s)");
    expect(confirm).toContain("cannot be undone");
    r = await root.form(`/admin/networks/${id}/delete`, { confirmName: "Lakeside" });
    expect(r.status).toBe(400);
    expect(fieldError(await r.text(), "confirmName")).toContain("exactly");
    r = await root.form(`/admin/networks/${id}/delete`, { confirmName: "Lakeside East" });
    expect(location(r)).toBe("/admin/networks?notice=network-deleted");
    expect((await root.request("GET", `/admin/networks/${id}`)).status).toBe(404);
  });
});

describe("administrators and roles", () => {
  test("create: each field's error next to it; then success; set password, role, delete", async () => {
    let r = await root.form("/admin/administrators", { name: "", username: "x", password: "short", kind: "network", networkId: "", newNetworkName: "" });
    expect(r.status).toBe(400);
    const html = await r.text();
    expect(fieldError(html, "name")).toContain("1 to 100");
    expect(fieldError(html, "username")).toContain("3 to 64");
    expect(fieldError(html, "password")).toContain("at least 12");
    expect(fieldError(html, "newNetworkName")).toContain("choose an existing network");
    r = await root.form("/admin/administrators", { name: "Olga", username: "olga", password: PW, kind: "network", networkId: "", newNetworkName: "Olga's network" });
    expect(r.status).toBe(303);
    const id = location(r).split("/")[3]!.split("?")[0]!;
    r = await root.form(`/admin/administrators/${id}/password`, { password: "weak" });
    expect(fieldError(await r.text(), "password")).toContain("at least 12");
    r = await root.form(`/admin/administrators/${id}/password`, { password: "Brand-New-Passw0rd" });
    expect(location(r)).toContain("notice=admin-password");
    r = await root.form(`/admin/administrators/${id}/role`, { roleId: "super-administrator" });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("only super administrators");
    r = await root.form(`/admin/administrators/${id}/delete`, {});
    expect(location(r)).toBe("/admin/administrators?notice=admin-deleted");
    const me = (await (await root.request("GET", "/api/v1/admins?limit=500")).json()) as { items: { id: string; username: string }[] };
    r = await root.form(`/admin/administrators/${me.items.find((a) => a.username === "admin")!.id}/delete`, {});
    expect(r.status).toBe(409);
    expect(await r.text()).toContain("cannot delete yourself");
  });

  test("roles: create, edit, delete; the built-in one has no edit form", async () => {
    let r = await root.form("/admin/roles", { name: "", permissions: ["audit.read"] });
    expect(fieldError(await r.text(), "name")).toContain("1 to 80");
    r = await root.form("/admin/roles", { name: "Readers", permissions: ["audit.read", "networks.read"] });
    expect(location(r)).toBe("/admin/roles?notice=role-created");
    const roles = (await (await root.request("GET", "/api/v1/roles")).json()) as { items: { id: string; name: string }[] };
    const id = roles.items.find((x) => x.name === "Readers")!.id;
    r = await root.form(`/admin/roles/${id}`, { name: "Readers", permissions: ["bogus.perm"] });
    expect(fieldError(await r.text(), "permissions")).toContain("unknown");
    r = await root.form(`/admin/roles/${id}`, { name: "Readers", permissions: ["audit.read"] });
    expect(location(r)).toContain("notice=role-saved");
    r = await root.form(`/admin/roles/${id}/delete`, {});
    expect(location(r)).toBe("/admin/roles?notice=role-deleted");
    expect(await (await root.request("GET", "/admin/roles/super-administrator")).text()).not.toContain("Save role");
  });
});

describe("lockout, settings, room bot, appearance, tokens, audit, crash report", () => {
  test("unlock from the Lockout page", async () => {
    const a = await createAdmin("locky", "super");
    for (let i = 0; i < 5; i++) await new AdminClient(s.url).form("/sign-in", { username: "locky", password: "wrong" });
    const page = await (await root.request("GET", "/admin/lockout")).text();
    expect(page).toMatch(/locky<\/td><td>5<\/td><td>since/);
    const r = await root.form(`/admin/lockout/${a.id}/unlock`, {});
    expect(location(r)).toBe("/admin/lockout?notice=unlocked");
    expect(await (await root.request("GET", "/admin/lockout")).text()).not.toContain("locky");
  });

  test("settings validate numbers and save; the room bot toggles", async () => {
    let r = await root.form("/admin/settings", { adminPasswordMinLength: "3", lockoutThreshold: "abc" });
    expect(r.status).toBe(400);
    const html = await r.text();
    expect(fieldError(html, "adminPasswordMinLength")).toContain("8 to 128");
    expect(fieldError(html, "lockoutThreshold")).toContain("1 to 100");
    r = await root.form("/admin/settings", { allowPrivateIps: "on", adminPasswordMinLength: "14", adminPasswordRequireMix: "on", lockoutThreshold: "7" });
    expect(location(r)).toBe("/admin/settings?notice=settings-saved");
    expect(await (await root.request("GET", "/api/v1/settings")).json()).toEqual({ allowPrivateIps: true, adminPasswordMinLength: 14, adminPasswordRequireMix: true, lockoutThreshold: 7 });
    expect(await (await root.request("GET", "/account/password")).text()).toContain("At least 14 characters, mixing lower case, upper case and digits.");
    r = await root.form("/admin/room-bot", { enabled: "on" });
    expect(location(r)).toContain("roombot-on");
    expect(await (await root.request("GET", "/api/v1/room-bot")).json()).toEqual({ enabled: true });
    r = await root.form("/admin/room-bot", { enabled: "off" });
    expect(location(r)).toContain("roombot-off");
    expect(await (await root.request("GET", "/api/v1/room-bot")).json()).toEqual({ enabled: false });
    await root.form("/admin/settings", { adminPasswordMinLength: "12", adminPasswordRequireMix: "on", lockoutThreshold: "5" });
  });

  test("appearance: multipart upload with the CSRF field; SVG refused next to the field; text saved", async () => {
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
    const upload = (file: Blob, name: string, csrf = root.csrf) => {
      const form = new FormData();
      form.set("_csrf", csrf);
      form.set("logo", file, name);
      return fetch(`${s.url}/admin/appearance/logo`, { method: "POST", headers: { cookie: root.cookie }, body: form, redirect: "manual" });
    };
    expect((await upload(new Blob([png], { type: "image/png" }), "logo.png", "wrong")).status).toBe(403);
    let r = await upload(new Blob(["<svg xmlns='http://www.w3.org/2000/svg'/>"], { type: "image/svg+xml" }), "logo.svg");
    expect(r.status).toBe(400);
    expect(fieldError(await r.text(), "logo")).toContain("only PNG and JPEG");
    r = await upload(new Blob([png], { type: "image/png" }), "logo.png");
    expect(location(r)).toBe("/admin/appearance?notice=logo-saved");
    r = await root.form("/admin/appearance/text", { loginText: "Authorised staff only.\nCall 555-0100 for help." });
    expect(location(r)).toBe("/admin/appearance?notice=text-saved");
    const signIn = await (await fetch(`${s.url}/sign-in`)).text();
    expect(signIn).toContain("Authorised staff only.");
    expect(signIn).toMatch(/<img class="sign-in-logo" src="\/appearance\/logo\?v=[0-9a-f]+" alt=""/);
    r = await root.form("/admin/appearance/text", { loginText: "<script>alert(1)</script>" });
    expect(await (await fetch(`${s.url}/sign-in`)).text()).toContain("&lt;script&gt;");
    r = await root.form("/admin/appearance/logo/remove", {});
    expect((await fetch(`${s.url}/appearance/logo`)).status).toBe(404);
  });

  test("tokens: the new token is on the creating page only; revoke", async () => {
    let r = await root.form("/admin/tokens", { label: "" });
    expect(fieldError(await r.text(), "label")).toContain("1 to 100");
    r = await root.form("/admin/tokens", { label: "form token", roleId: "super-administrator" });
    expect(r.status).toBe(201);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const token = /id="token-value">(opt_[0-9a-f]+)</.exec(await r.text())![1]!;
    const list = await (await root.request("GET", "/admin/tokens")).text();
    expect(list).not.toContain(token);
    const ids = (await (await root.request("GET", "/api/v1/tokens")).json()) as { items: { id: string; label: string }[] };
    r = await root.form(`/admin/tokens/${ids.items.find((t) => t.label === "form token")!.id}/revoke`, {});
    expect(location(r)).toBe("/admin/tokens?notice=token-revoked");
    expect((await fetch(`${s.url}/api/v1/networks`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  test("audit page filters and exports; bad dates are named", async () => {
    let html = await (await root.request("GET", "/admin/audit?action=token.")).text();
    expect(html).toContain("token.create");
    expect(html).not.toContain("network.create");
    const r = await root.request("GET", "/admin/audit?from=not-a-date");
    expect(r.status).toBe(400);
    expect(fieldError(await r.text(), "from")).toContain("date and time");
    html = await (await root.request("GET", "/admin/audit.csv?action=token.")).text();
    expect(html.split("\n")[0]).toBe("time,actor_type,actor,action,target,ip,network_id,details");
    expect(html).toContain("token.revoke");
  });

  test("crash report downloads as a zip", async () => {
    const r = await root.request("GET", "/admin/crash-report.zip");
    expect(r.headers.get("content-type")).toBe("application/zip");
    expect(Object.keys(unzipSync(new Uint8Array(await r.arrayBuffer())))).toContain("logs.jsonl");
  });
});

describe("account pages", () => {
  test("two-factor through the forms, sign-out, and local recovery clears it along with a lockout", async () => {
    await createAdmin("tess", "super");
    const t = new AdminClient(s.url);
    await t.signInFirstTime("tess", PW);
    let r = await t.form("/account/two-factor/start", {});
    expect(location(r)).toBe("/account/two-factor");
    const page = await (await t.request("GET", "/account/two-factor")).text();
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(page)![1]!;
    expect(page).toContain("<svg");
    r = await t.form("/account/two-factor/confirm", { code: "000000" });
    expect(fieldError(await r.text(), "code")).toContain("does not match");
    r = await t.form("/account/two-factor/confirm", { code: totpCode(secret) });
    expect(location(r)).toBe("/account/two-factor?notice=enabled");
    r = await t.form("/sign-out", {});
    expect(location(r)).toBe("/sign-in");
    expect((await t.request("GET", "/admin", undefined)).status).toBe(303);
    r = await new AdminClient(s.url).form("/sign-in", { username: "tess", password: "Correct-Horse-42-battery" });
    expect(fieldError(await r.text(), "totpCode")).toContain("6-digit");
    for (let i = 0; i < 5; i++) await new AdminClient(s.url).form("/sign-in", { username: "tess", password: "wrong" });

    // The operator runs `outpost admin reset-password tess` (the same service function).
    const oneTime = await resetAdminPassword(s.ctx, "tess");
    const back = new AdminClient(s.url);
    const signedIn = await back.signIn("tess", oneTime);
    expect(signedIn.passwordChangeRequired).toBe(true);
    const session = (await (await back.request("GET", "/api/v1/auth/session")).json()) as { totpEnabled: boolean };
    expect(session.totpEnabled).toBe(false);
    r = await back.request("GET", "/admin");
    expect(location(r)).toBe("/account/password");
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../test/support/admin-client.ts";
import { startTestServer, type TestServer } from "../../test/support/server.ts";
import { createHttpApp } from "./app.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ bodyLimitBytes: 2048 });
});
afterAll(async () => {
  await server.close();
});

type ErrorBody = { error: { code: string; message: string; details?: { path: string; rule: string; message: string }[]; requestId: string } };

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as ErrorBody;
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(3);
  expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
  return body;
}

const post = (path: string, body: string, headers: Record<string, string> = { "content-type": "application/json" }) =>
  fetch(server.url + path, { method: "POST", headers, body });

describe("one error shape", () => {
  it("400 names each invalid field and its rule", async () => {
    const body = await expectError(await post("/api/v1/auth/sign-in", JSON.stringify({ username: 5, extra: true })), 400, "validation_failed");
    const paths = body.error.details!.map((d) => `${d.path}:${d.rule}`);
    expect(paths).toEqual(expect.arrayContaining(["username:invalid_type", "password:invalid_type", "extra:unrecognized_keys"]));
  });

  it("400 for malformed JSON", async () => {
    await expectError(await post("/api/v1/auth/sign-in", "{not json"), 400, "malformed_json");
  });

  it("400 for a JSON body of the wrong kind", async () => {
    await expectError(await post("/api/v1/auth/sign-in", "[]"), 400, "validation_failed");
  });

  it("401 without a session, and for wrong credentials", async () => {
    await expectError(await fetch(server.url + "/api/v1/auth/session"), 401, "unauthenticated");
    await expectError(await post("/api/v1/auth/sign-in", JSON.stringify({ username: "admin", password: "wrong" })), 401, "invalid_credentials");
    await expectError(await post("/api/v1/auth/sign-in", JSON.stringify({ username: "nobody", password: "wrong" })), 401, "invalid_credentials");
  });

  it("403 for a state change without the CSRF token, and before the one-time password is changed", async () => {
    const client = new AdminClient(server.url);
    await client.signIn("admin", server.firstAdminPassword!);
    const noCsrf = await fetch(server.url + "/api/v1/auth/password", {
      method: "POST",
      headers: { cookie: client.cookie, "content-type": "application/json" },
      body: JSON.stringify({ currentPassword: "x", newPassword: "y" }),
    });
    await expectError(noCsrf, 403, "csrf_failed");
    const forged = await fetch(server.url + "/api/v1/auth/password", {
      method: "POST",
      headers: { cookie: client.cookie, "content-type": "application/json", "x-csrf-token": "0".repeat(32) },
      body: JSON.stringify({ currentPassword: "x", newPassword: "y" }),
    });
    await expectError(forged, 403, "csrf_failed");
  });

  it("404 for unknown paths", async () => {
    await expectError(await fetch(server.url + "/api/v1/nothing-here"), 404, "not_found");
  });

  it("413 for a body over the limit", async () => {
    const big = JSON.stringify({ username: "a".repeat(4096), password: "b" });
    await expectError(await post("/api/v1/auth/sign-in", big), 413, "payload_too_large");
  });

  it("500 hides the cause but keeps the request id", async () => {
    const app = createHttpApp(server.ctx);
    app.get("/boom", () => {
      throw new Error("secret internal detail");
    });
    const res = await app.request("/boom");
    const body = await expectError(res, 500, "internal");
    expect(JSON.stringify(body)).not.toContain("secret internal detail");
    expect(server.ctx.log.ring.snapshot().some((l) => l.includes(body.error.requestId) && l.includes("secret internal detail"))).toBe(true);
  });
});

describe("security headers", () => {
  it("are set on every response", async () => {
    const res = await fetch(server.url + "/healthz");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    // Plain HTTP here: HSTS is only sent under TLS.
    expect(res.headers.get("strict-transport-security")).toBeNull();
  });

  it("keeps a sane incoming request id and replaces a hostile one", async () => {
    expect((await fetch(server.url + "/healthz", { headers: { "x-request-id": "abc12345-ok" } })).headers.get("x-request-id")).toBe("abc12345-ok");
    expect((await fetch(server.url + "/healthz", { headers: { "x-request-id": "<script>" } })).headers.get("x-request-id")).not.toBe("<script>");
  });
});

describe("health, readiness and API documentation", () => {
  it("healthz and readyz", async () => {
    expect(await (await fetch(server.url + "/healthz")).json()).toMatchObject({ status: "ok" });
    const ready = await fetch(server.url + "/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { database: { ok: true }, migrations: { ok: true } } });
  });

  it("readyz reports a failing dependency with 503", async () => {
    server.ctx.readiness.set("calling", () => ({ ok: false, detail: "node unreachable" }));
    const res = await fetch(server.url + "/readyz");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: Record<string, unknown> }).checks.calling).toEqual({ ok: false, detail: "node unreachable" });
    server.ctx.readiness.delete("calling");
  });

  it("serves an OpenAPI 3.1 document built from the route specs", async () => {
    const doc = (await (await fetch(server.url + "/api/openapi.json")).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/healthz", "/readyz", "/api/v1/auth/sign-in", "/api/v1/auth/password"]));
  });

  it("serves the API reference and its renderer from the binary, not a CDN", async () => {
    const html = await (await fetch(server.url + "/api/docs")).text();
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src.startsWith("/")).toBe(true);
      const res = await fetch(server.url + src);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("javascript");
    }
    expect(html).not.toMatch(/https?:\/\//);
  });
});

describe("first super administrator", () => {
  it("signs in with the one-time password, must change it, then is let through", async () => {
    const s = await startTestServer();
    try {
      expect(s.firstAdminPassword).toMatch(/^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/);
      const client = new AdminClient(s.url);
      expect((await client.signIn("admin", s.firstAdminPassword!)).passwordChangeRequired).toBe(true);
      const weak = await client.request("POST", "/api/v1/auth/password", { currentPassword: s.firstAdminPassword, newPassword: "short" });
      const body = await expectError(weak, 400, "validation_failed");
      expect(body.error.details![0]!.path).toBe("newPassword");
      await client.request("POST", "/api/v1/auth/password", { currentPassword: s.firstAdminPassword, newPassword: "Correct-Horse-42-battery" });
      const session = await client.request("GET", "/api/v1/auth/session");
      expect(await session.json()).toMatchObject({ username: "admin", passwordChangeRequired: false });
      // The one-time password no longer works; the new one does.
      await expectError(await fetch(s.url + "/api/v1/auth/sign-in", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: s.firstAdminPassword }) }), 401, "invalid_credentials");
      await new AdminClient(s.url).signIn("admin", "Correct-Horse-42-battery");
      // Signing in again ended the first session.
      await expectError(await client.request("GET", "/api/v1/auth/session"), 401, "unauthenticated");
    } finally {
      await s.close();
    }
  });

  it("never writes the one-time password to the log", async () => {
    const s = await startTestServer();
    try {
      expect(s.ctx.log.ring.snapshot().join("\n")).not.toContain(s.firstAdminPassword!);
    } finally {
      await s.close();
    }
  });
});

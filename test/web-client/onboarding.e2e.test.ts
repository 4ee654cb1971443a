// Browser client: serving (headers, caching, compression, CSP), onboarding from a client
// configuration file and from a landing link, bad configurations, and a second device
// synced with a code.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { systemActor } from "../../src/modules/audit/audit.service.ts";
import { createClientConfig } from "../../src/modules/client-config/client-config.service.ts";
import { defaultSecurityGroup } from "../../src/modules/security-groups/security-groups.service.ts";
import { startHarness, pageErrors, type Harness, PASSWORD } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness(["alice", "bob"]);
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe("serving", () => {
  test("the client page is served at / with no-cache and the strict CSP; hashed bundles are immutable and gzipped", async () => {
    const res = await fetch(h.world.server.url + "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toContain("unsafe-eval");
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline scripts
    const js = /src="(\/app\/main-[a-z0-9]+\.js)"/.exec(html)?.[1];
    expect(js).toBeDefined();
    const asset = await fetch(h.world.server.url + js!, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(asset.headers.get("content-encoding")).toBe("gzip");
    // Budget for slow links: page, script and stylesheet together, as transferred. The issue's
    // ceiling is 250 KB; ours stays far below it so that growth is noticed (63 KiB with video
    // calls, notifications, offline start and history sync; the call worker loads apart).
    let wire = 0;
    for (const path of ["/", js!, /href="(\/app\/main-[a-z0-9]+\.css)"/.exec(html)![1]!]) {
      const r = await fetch(h.world.server.url + path, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
      wire += (await r.arrayBuffer()).byteLength;
    }
    expect(wire).toBeLessThan(72 * 1024);
    const sw = await fetch(h.world.server.url + "/sw.js");
    expect(sw.headers.get("cache-control")).toBe("no-cache");
    expect(await sw.text()).toContain(js!);
    const manifest = (await (await fetch(h.world.server.url + "/manifest.webmanifest")).json()) as { start_url: string; display: string };
    expect(manifest).toMatchObject({ start_url: "/", display: "standalone" });
    // The admin consoles keep their own paths.
    expect((await fetch(h.world.server.url + "/sign-in", { redirect: "manual" })).status).toBeLessThan(400);
  });
});

describe("onboarding", () => {
  test("bad configuration files are refused with a message naming the problem", async () => {
    const { page } = await h.open();
    const input = page.getByLabel("Client configuration file");
    await input.setInputFiles({ name: "x.json", mimeType: "application/json", buffer: Buffer.from("not json") });
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("not JSON");
    await input.setInputFiles({ name: "x.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify({ serviceUrl: h.config.serviceUrl, networkId: "nope" })) });
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("networkId");
    await input.setInputFiles({ name: "x.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify({ ...h.config, serviceUrl: "https://elsewhere.example:8443" })) });
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("https://elsewhere.example:8443");
    await input.setInputFiles({ name: "x.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify({ kdf: "pbkdf2", ciphertext: "AAAA" })) });
    await page.getByLabel("Configuration password").fill("some password");
    await page.getByRole("button", { name: "Open configuration" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("version 1");
    // A wrong password is refused by the server and the form says so.
    await input.setInputFiles({ name: "x.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(h.config)) });
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password").fill("wrong-password-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/password|credentials/i);
    expect(pageErrors(page)).toEqual([]);
  });

  test("from a configuration file, then a second device of the same user from a landing link and a sync code", async () => {
    const first = await h.onboard("alice", "file");
    await first.getByRole("button", { name: "Settings" }).click();
    await first.getByRole("button", { name: "Show a sync code" }).click();
    const code = (await first.getByTestId("sync-code").textContent())!.trim();
    expect(code.length).toBeGreaterThan(6);
    await first.getByRole("button", { name: "Close" }).click();

    const { page: second } = await h.open(`/#config=${Buffer.from(JSON.stringify(h.config)).toString("base64url")}`);
    // The link's fragment is consumed and removed from the address bar.
    await second.getByLabel("Username").waitFor();
    expect(new URL(second.url()).hash).toBe("");
    await second.getByLabel("Username").fill("alice");
    await second.getByLabel("Password").fill(PASSWORD);
    await second.getByRole("button", { name: "Sign in" }).click();
    await second.getByLabel("Sync code from your other device").fill(code);
    await second.getByRole("button", { name: "Sign in" }).click();
    await second.getByRole("status").filter({ hasText: "Connected" }).waitFor();
    const devices = await h.world.client("bob").then((bob) => bob.lookupUsers({ usernames: ["alice"] }));
    expect(devices[0]!.devices).toHaveLength(2);
    expect(pageErrors(first)).toEqual([]);
    expect(pageErrors(second)).toEqual([]);
  });
});

describe("password-protected configuration", () => {
  test("a file a network administrator created opens with its password (a wrong one is told), then sign-in", async () => {
    const ctx = h.world.server.ctx;
    await h.world.addUsers(["carol"], { cheapHash: true }); // a user with no device yet (no sync code needed)
    // logN 14: the lowest cost readers accept, so the browser's pure-JS scrypt stays quick in tests.
    const { file } = await createClientConfig(ctx, systemActor, h.world.networkId, { name: "Field browsers", securityGroupId: defaultSecurityGroup(ctx, h.world.networkId).id, expiresInDays: 7, password: "file password 1" }, { logN: 14, origin: h.world.server.url });
    const { page } = await h.open();
    await page.getByLabel("Client configuration file").setInputFiles({ name: "Field_browsers.outpost-config", mimeType: "application/json", buffer: Buffer.from(file) });
    await page.getByLabel("Configuration password").fill("not the password");
    await page.getByRole("button", { name: "Open configuration" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("does not open this configuration");
    await page.getByLabel("Configuration password").fill("file password 1");
    await page.getByRole("button", { name: "Open configuration" }).click();
    await page.getByLabel("Username").fill("carol");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("status").filter({ hasText: "Connected" }).waitFor();
    expect(pageErrors(page)).toEqual([]);
  });
});

describe("installable app", () => {
  test("the service worker caches the app shell only, and the client opens offline", async () => {
    const { context, page } = await h.open();
    await page.getByLabel("Client configuration file").waitFor();
    const cached = await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      const names = await caches.keys();
      const urls: string[] = [];
      for (const n of names) for (const r of await (await caches.open(n)).keys()) urls.push(new URL(r.url).pathname);
      return { names, urls: urls.sort() };
    });
    expect(cached.names).toHaveLength(1);
    expect(cached.names[0]).toMatch(/^outpost-shell-[0-9a-f]{12}$/);
    expect(cached.urls).toContain("/");
    expect(cached.urls).toContain("/manifest.webmanifest");
    expect(cached.urls.every((u) => u === "/" || u.startsWith("/app/") || u === "/manifest.webmanifest" || u === "/app-icon.svg")).toBe(true);
    // Offline, a reload still shows the client (from the shell cache).
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await context.setOffline(true);
    await page.reload();
    await page.getByLabel("Client configuration file").waitFor();
    await context.setOffline(false);
  });
});

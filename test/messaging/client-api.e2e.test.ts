// The client REST API's edges: bearer credentials, other networks' ids, pagination,
// prekey claiming and refill, and validation errors that name the field.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutpostClient, OutpostError } from "../../src/client/index.ts";
import { createNetwork } from "../../src/modules/networks/networks.service.ts";
import { createUsers } from "../../src/modules/users/users.service.ts";
import { PASSWORD, startWorld, type World } from "./world.ts";

let w: World;
let alice: OutpostClient, bob: OutpostClient, outsider: OutpostClient;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob", ...Array.from({ length: 12 }, (_, i) => `user${String(i).padStart(2, "0")}`)]);
  alice = await w.client("alice", { connect: false, prekeyCount: 5 });
  bob = await w.client("bob", { connect: false, prekeyCount: 5 });
  const other = await createNetwork(w.server.ctx, { name: "Elsewhere" });
  await createUsers(w.server.ctx, [{ networkId: other.id, username: "alice", password: PASSWORD }]);
  outsider = await OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: other.id }, username: "alice", password: PASSWORD, prekeyCount: 2 });
});
afterAll(() => w.close());

const fail = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a failure"); }, (e: OutpostError) => e);

describe("client API", () => {
  test("registration activates a pending user; the API document lists the client routes", async () => {
    const { getUser } = await import("../../src/modules/users/users.service.ts");
    expect(getUser(w.server.ctx, w.networkId, alice.userId).status).toBe("active");
    expect(getUser(w.server.ctx, w.networkId, w.users.get("user00")!.id).status).toBe("pending");
    const doc = (await (await fetch(`${w.server.url}/api/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/client/v1/sign-in", "/api/client/v1/devices", "/api/client/v1/relay", "/api/client/v1/conversations/{id}/members", "/api/client/v1/prekeys/claim"]));
  });

  test("calls without or with a wrong device credential are refused", async () => {
    const r = await fetch(`${w.server.url}/api/client/v1/me`);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/Bearer <deviceId>\.<device secret>/);
    const r2 = await fetch(`${w.server.url}/api/client/v1/me`, { headers: { authorization: `Bearer ${alice.deviceId}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` } });
    expect(r2.status).toBe(401);
  });

  test("another network's users, devices and conversations are invisible", async () => {
    expect((await fail(outsider.openDirect({ userId: alice.userId }))).status).toBe(404);
    expect((await fail(outsider.api.call("POST", "/api/client/v1/prekeys/claim", { devices: [{ deviceId: alice.deviceId }] }))).status).toBe(404);
    expect(await outsider.lookupUsers({ userIds: [alice.userId, bob.userId] })).toEqual([]);
    const dm = await alice.openDirect({ userId: bob.userId });
    expect((await fail(outsider.api.call("GET", `/api/client/v1/conversations/${dm.id}`))).status).toBe(404);
    expect((await fail(alice.api.call("GET", "/api/client/v1/conversations/not-an-id"))).details).toEqual([expect.objectContaining({ path: "param.id", message: "a conversation id" })]);
  });

  test("the directory and conversation lists are paginated", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const q: string = new URLSearchParams({ limit: "5", ...(after ? { after } : {}) }).toString();
      const page: { items: { username: string }[]; next: string | null } = await alice.api.call("GET", `/api/client/v1/users?${q}`);
      expect(page.items.length).toBeLessThanOrEqual(5);
      seen.push(...page.items.map((i) => i.username));
      after = page.next;
    } while (after);
    expect(seen).toHaveLength(14);
    expect([...seen].sort()).toEqual(seen);
    const search = await alice.api.call<{ items: { username: string }[] }>("GET", "/api/client/v1/users?query=user0");
    expect(search.items.map((i) => i.username)).toEqual(Array.from({ length: 10 }, (_, i) => `user0${i}`));
    expect((await fail(alice.api.call("GET", "/api/client/v1/users?limit=0"))).details).toEqual([expect.objectContaining({ path: "query.limit" })]);

    const users = await alice.lookupUsers({ usernames: ["user00", "user01", "user02"] });
    for (const u of users) await alice.createGroup([u.userId]).catch(() => undefined);
    const p1 = await alice.listConversations({ limit: 2 });
    expect(p1.items).toHaveLength(2);
    const p2 = await alice.listConversations({ limit: 2, after: p1.next! });
    expect(p2.items.length).toBeGreaterThan(0);
    expect(p2.items[0]!.id > p1.items[1]!.id).toBe(true);
  });

  test("one-time prekeys are handed out once, then the last-resort key; refill tops the pool up", async () => {
    const claim = () => alice.api.call<{ devices: { prekeys: string[] }[] }>("POST", "/api/client/v1/prekeys/claim", { devices: [{ deviceId: bob.deviceId, count: 100 }] });
    const before = await bob.api.call<{ prekeys: { oneTime: number; lastResort: number } }>("GET", "/api/client/v1/me");
    const first = await claim();
    expect(first.devices[0]!.prekeys).toHaveLength(before.prekeys.oneTime);
    const second = await claim();
    const third = await claim();
    expect(second.devices[0]!.prekeys).toHaveLength(1);
    expect(third.devices[0]!.prekeys).toEqual(second.devices[0]!.prekeys); // the last-resort key, not consumed
    expect(await bob.refillPrekeys(true)).toBe(80);
    const bad = await fail(bob.api.call("POST", "/api/client/v1/prekeys", { prekeys: ["AAAA"] }));
    expect(bad).toMatchObject({ status: 400 });
    expect((bad as OutpostError).message).toMatch(/^prekeys\.0: /);
  });

  test("device sync codes are single-use and bound to the user", async () => {
    const code = await alice.createSyncCode();
    expect(code).toMatch(/^[2-9A-Z]{5}(-[2-9A-Z]{5}){3}$/);
    const err = await fail(OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: w.networkId }, username: "bob", password: PASSWORD, syncCode: code }));
    expect(err).toMatchObject({ status: 404 });
    const second = await OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: w.networkId }, username: "alice", password: PASSWORD, syncCode: code, prekeyCount: 2 });
    expect(second.userId).toBe(alice.userId);
    expect((await fail(OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: w.networkId }, username: "alice", password: PASSWORD, syncCode: code }))).status).toBe(404);
  });
});

// What the network administrator sets is enforced for real SDK clients: a client
// registers from an encrypted configuration file; suspension disconnects at once;
// a deleted user cannot sign in; the expiration maximum clamps; read receipts off
// refuses receipts; the group's password rule refuses weak passwords.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutpostClient, type OutpostError } from "../../src/client/index.ts";
import { scryptSync } from "node:crypto";
import { clientConfigFromFile, openClientConfig, scryptDerive, type Derive } from "../../src/modules/client-config/format.ts";
import { collect, until } from "../messaging/world.ts";
import { startNetWorld, USER_PASSWORD, type NetWorld } from "./setup.ts";

let w: NetWorld;
let base = "";
let configText = "";
const PW = "file password for phones";
const clients: OutpostClient[] = [];
// node:crypto's scrypt gives the same key as the portable one, several times faster; the first test runs the portable one once.
const fast: Derive = async (pw, salt, logN) => new Uint8Array(scryptSync(pw.normalize("NFKC"), salt, 32, { N: 2 ** logN, r: 8, p: 1, maxmem: 2 ** (logN + 11) }));
const api = async (method: string, path: string, body?: unknown) => {
  const res = await w.a.request(method, base + path, body);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
};
async function register(username: string) {
  const c = await OutpostClient.register({ config: await clientConfigFromFile(configText, PW, { derive: fast }), username, password: USER_PASSWORD, prekeyCount: 5 });
  clients.push(c);
  await c.connect();
  return c;
}

beforeAll(async () => {
  w = await startNetWorld();
  base = `/api/v1/networks/${w.netA}`;
  for (const u of ["anna", "ben", "cleo", "dan"]) expect((await api("POST", "/users", { username: u, password: USER_PASSWORD })).status).toBe(201);
  const def = ((await api("GET", "/security-groups")).body.items as { id: string; isDefault: boolean }[]).find((g) => g.isDefault)!;
  const created = await api("POST", "/client-configs", { name: "Phones", securityGroupId: def.id, expiresInDays: 7, password: PW });
  configText = await (await fetch(`${w.s.url}${base}/client-configs/${created.body.id}/file`, { headers: { cookie: w.a.cookie } })).text();
}, 60_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await w?.close();
});

describe("enforcement", () => {
  test("the SDK registers from the configuration file (the browser's scrypt opens it too)", async () => {
    const cfg = await clientConfigFromFile(configText, PW, { derive: scryptDerive });
    expect(cfg).toEqual({ serviceUrl: w.s.url, networkId: w.netA });
    expect((await openClientConfig(configText, PW, { derive: fast })).networkId).toBe(w.netA);
    await expect(clientConfigFromFile(configText, "not the password", { derive: fast })).rejects.toMatchObject({ code: "wrong_password" });
    const anna = await register("anna");
    expect(anna.userId).toBeTruthy();
  }, 30_000);

  test("suspending a user through the API signs their device out at once; unsuspending lets them back", async () => {
    const ben = await register("ben");
    const closed = collect(ben, "disconnected");
    expect((await api("POST", `/users/${ben.userId}/suspend`)).status).toBe(200);
    await until(() => closed.length === 1, "ben's socket closed");
    expect(closed[0]).toMatchObject({ code: 4403 });
    await expect(ben.connect()).rejects.toMatchObject({ code: "account_suspended" });
    await api("POST", `/users/${ben.userId}/unsuspend`);
    await ben.connect();
    expect(ben.connected).toBe(true);
  });

  test("bulk suspend by CSV disconnects too", async () => {
    const cleo = await register("cleo");
    const closed = collect(cleo, "disconnected");
    const r = await api("POST", "/users/bulk", { action: "suspend", csv: "username\ncleo\nnobody\n" });
    expect(r.status).toBe(202);
    await until(() => closed.length === 1, "cleo's socket closed");
  });

  test("a deleted user is disconnected and cannot sign in again", async () => {
    const dan = await register("dan");
    const closed = collect(dan, "disconnected");
    expect((await api("DELETE", `/users/${dan.userId}`)).status).toBe(204);
    await until(() => closed.length === 1, "dan's socket closed");
    const again = await OutpostClient.register({ config: await clientConfigFromFile(configText, PW, { derive: fast }), username: "dan", password: USER_PASSWORD }).catch((e: OutpostError) => e);
    expect(again).toMatchObject({ code: "invalid_credentials" });
  });

  test("the group's expiration maximum clamps; read receipts off refuses receipts; weak passwords are refused", async () => {
    const def = ((await api("GET", "/security-groups")).body.items as { id: string; isDefault: boolean; settings: { messaging: Record<string, unknown>; security: Record<string, unknown> } }[]).find((g) => g.isDefault)!;
    const r = await api("PATCH", `/security-groups/${def.id}`, { settings: { ...def.settings, messaging: { ...def.settings.messaging, maxExpirationSeconds: 90 }, security: { ...def.settings.security, password: { minLength: 20, requireLower: true, requireUpper: true, requireDigit: true, requireSymbol: false } } } });
    expect(r.status).toBe(200);
    const anna = clients[0]!;
    await anna.close();
    await anna.connect();
    expect(anna.policy!.maxExpirationSeconds).toBe(90);
    const ben = clients[1]!;
    const dm = (await anna.openDirect({ userId: ben.userId })).id;
    expect((await anna.updateConversation(dm, { ttl: 86_400 })).ttl).toBe(90);
    // Read receipts off for the network: a receipt is refused.
    expect((await api("PATCH", "/profile", { readReceipts: false })).body.readReceipts).toBe(false);
    const errors = collect(ben, "error");
    const m = await anna.sendText(dm, "read me");
    await until(() => ben.messages(dm).some((x) => x.packetId === m.packetId), "arrives");
    ben.control({ t: "receipt", c: dm, ids: [m.packetId] });
    await until(() => errors.length === 1, "refusal");
    expect(errors[0]!.message).toMatch(/read receipts are turned off/);
    // The raised password rule applies to new users.
    const weak = await api("POST", "/users", { username: "eve", password: "Short-Pass-123" });
    expect(weak.status).toBe(400);
    expect(JSON.stringify(weak.body)).toContain("at least 20 characters");
  });
});

describe("default rooms", () => {
  test("need the room bot; members are added, follow the directory and are put back when they leave", async () => {
    const { setRoomBotEnabled } = await import("../../src/modules/settings/settings.service.ts");
    const { systemActor } = await import("../../src/modules/audit/audit.service.ts");
    const off = await api("POST", "/default-rooms", { title: "Everyone" });
    expect(off.status).toBe(409);
    expect(JSON.stringify(off.body)).toContain("room bot");
    await setRoomBotEnabled(w.s.ctx, systemActor, true);
    expect((await api("POST", "/default-rooms", { title: "" })).status).toBe(400);
    const room = (await api("POST", "/default-rooms", { title: "Everyone" })).body;
    expect(room.status).toBeUndefined();
    const anna = clients[0]!;
    const members = async () => (await api("GET", "/default-rooms")).body.items as { conversationId: string; memberCount: number }[];
    const convo = room.conversationId as string;
    const before = (await members())[0]!.memberCount;
    // A new user joins automatically.
    await api("POST", "/users", { username: "newcomer", password: USER_PASSWORD + "-long-enough-now" });
    expect((await members())[0]!.memberCount).toBe(before + 1);
    // Leaving puts you back; the bot is the only moderator.
    const { conversationMembers } = await import("../../src/db/schema/index.ts");
    const { and, eq } = await import("drizzle-orm");
    const joinedAt = () => w.s.ctx.storage.read().select().from(conversationMembers).where(and(eq(conversationMembers.conversationId, convo), eq(conversationMembers.userId, anna.userId))).get()?.joinedAt.getTime();
    const first = joinedAt()!;
    await Bun.sleep(5);
    await anna.leave(convo);
    // She left (the row went) and was put back (a new row, joined later).
    expect(joinedAt()!).toBeGreaterThan(first);
    expect((await anna.listConversations()).items.map((c) => c.id)).toContain(convo);
    const mods = (await anna.conversation(convo, 0)).members.filter((m) => m.role === "moderator");
    expect(mods).toHaveLength(1);
    expect(mods[0]!.userId).not.toBe(anna.userId);
    // A suspended user leaves the room; a group room only holds its group.
    await api("POST", `/users/${anna.userId}/suspend`);
    expect((await members())[0]!.memberCount).toBe(before);
    expect((await api("DELETE", `/default-rooms/${room.id}`)).status).toBe(204);
  });
});

// POST /api/client/v1/me/password: a device changes its user's password, only where the
// security group allows it, with the current password and the group's complexity rule.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutpostClient, OutpostError } from "../../client/index.ts";
import { PASSWORD, startWorld, type World } from "../../../test/messaging/world.ts";
import { defaultSecurityGroup, updateSecurityGroupSettings } from "../security-groups/security-groups.service.ts";

let w: World;
let alice: OutpostClient;
const NEW = "Another-Horse-10";

beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice"], { cheapHash: true });
  alice = await w.client("alice", { connect: false });
}, 30_000);
afterAll(async () => {
  await w?.close();
});

async function post(body: string, auth: string | null = `${alice.deviceId}.${alice.exportState().token}`) {
  const res = await fetch(`${w.server.url}/api/client/v1/me/password`, { method: "POST", headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}) }, body });
  return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as { error: { code: string; message: string; details?: { path: string }[] } }) };
}

async function signInWorks(password: string): Promise<boolean> {
  try {
    await OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: w.networkId }, username: "alice", password, prekeyCount: 1 });
    throw new Error("registered a second device without a sync code");
  } catch (e) {
    if (e instanceof OutpostError && e.code === "sync_required") return true; // the password was accepted
    if (e instanceof OutpostError && e.code === "invalid_credentials") return false;
    throw e;
  }
}

describe("changing your own password", () => {
  test("refuses requests without a device credential", async () => {
    expect((await post(JSON.stringify({ currentPassword: PASSWORD, newPassword: NEW }), null)).status).toBe(401);
    expect((await post(JSON.stringify({ currentPassword: PASSWORD, newPassword: NEW }), `${alice.deviceId}.${"x".repeat(40)}`)).status).toBe(401);
  });

  test.each([
    ["malformed JSON", "{", "malformed_json"],
    ["a missing field", JSON.stringify({ currentPassword: PASSWORD }), "validation_failed"],
    ["a wrong type", JSON.stringify({ currentPassword: PASSWORD, newPassword: 12345678901 }), "validation_failed"],
    ["an unknown field", JSON.stringify({ currentPassword: PASSWORD, newPassword: NEW, admin: true }), "validation_failed"],
    ["an empty password", JSON.stringify({ currentPassword: "", newPassword: NEW }), "validation_failed"],
  ])("refuses %s with 400", async (_n, body, code) => {
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(r.body!.error.code).toBe(code);
  });

  test("refuses a wrong current password, a weak or unchanged new one, naming the field", async () => {
    const wrong = await post(JSON.stringify({ currentPassword: "Wrong-Horse-99", newPassword: NEW }));
    expect(wrong.status).toBe(401);
    expect(wrong.body!.error.code).toBe("invalid_credentials");
    const weak = await post(JSON.stringify({ currentPassword: PASSWORD, newPassword: "short" }));
    expect(weak.status).toBe(400);
    expect(weak.body!.error.details![0]!.path).toBe("newPassword");
    const same = await post(JSON.stringify({ currentPassword: PASSWORD, newPassword: PASSWORD }));
    expect(same.status).toBe(400);
    expect(same.body!.error.details![0]!.path).toBe("newPassword");
    expect(await signInWorks(PASSWORD)).toBe(true);
  });

  test("is refused where the security group does not allow it", async () => {
    const g = defaultSecurityGroup(w.server.ctx, w.networkId);
    await updateSecurityGroupSettings(w.server.ctx, w.networkId, g.id, { ...g.settings, security: { ...g.settings.security, userCanChangePassword: false } });
    const r = await post(JSON.stringify({ currentPassword: PASSWORD, newPassword: NEW }));
    expect(r.status).toBe(403);
    expect(r.body!.error.message).toContain("security group");
    await updateSecurityGroupSettings(w.server.ctx, w.networkId, g.id, g.settings);
  });

  test("changes it: the new password signs in, the old one no longer does", async () => {
    expect((await post(JSON.stringify({ currentPassword: PASSWORD, newPassword: NEW }))).status).toBe(204);
    expect(await signInWorks(NEW)).toBe(true);
    expect(await signInWorks(PASSWORD)).toBe(false);
  });
});

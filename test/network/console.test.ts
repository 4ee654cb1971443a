// Network console forms through real HTTP (what a browser without JavaScript posts):
// invitations accepted from /network, the network switcher, the bulk flow's deletion
// acknowledgement, the Default group's delete refusal, and validation errors rendered
// next to their fields.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createUsers, listDirectory } from "../../src/modules/users/users.service.ts";
import { listSecurityGroups } from "../../src/modules/security-groups/security-groups.service.ts";
import { networkAdmin, startNetWorld, USER_PASSWORD, type NetWorld } from "./setup.ts";

let w: NetWorld;
beforeAll(async () => {
  w = await startNetWorld();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

const get = (path: string, cookie = w.a.cookie) => fetch(w.s.url + path, { headers: { cookie }, redirect: "manual" });

test("an invitation is accepted from /network; the switcher then moves between both networks", async () => {
  expect((await w.b.form(`/network/${w.netB}/administrators`, { username: "alice-admin" })).status).toBe(303);
  const home = await get("/network");
  expect(home.status).toBe(200);
  const html = await home.text();
  expect(html).toContain("Accept Network B");
  const accepted = await w.a.form(`/network/invitations/${w.netB}`, { accept: "yes" });
  expect(accepted.headers.get("location")).toBe(`/network/${w.netB}?notice=accepted`);
  const dash = await (await get(accepted.headers.get("location")!)).text();
  expect(dash).toContain('name="to"');
  expect(dash).toContain("You now administer this network.");
  expect((await get(`/network/switch?to=${w.netA}`)).headers.get("location")).toBe(`/network/${w.netA}`);
  // A second accept finds no invitation.
  expect((await w.a.form(`/network/invitations/${w.netB}`, { accept: "yes" })).status).toBe(404);
});

test("bulk delete in the console needs the acknowledgement box", async () => {
  await createUsers(w.s.ctx, ["gone1", "gone2"].map((username) => ({ networkId: w.netA, username, password: USER_PASSWORD })));
  const csv = "username\ngone1\ngone2\nunknown\n";
  const refused = await w.a.form(`/network/${w.netA}/bulk/run`, { csv, action: "delete" });
  expect(refused.status).toBe(400);
  expect(await refused.text()).toContain("confirm that the deletion cannot be undone");
  const done = await w.a.form(`/network/${w.netA}/bulk/run`, { csv, action: "delete", acknowledge: "on" });
  expect(done.status).toBe(303);
  const jobPath = done.headers.get("location")!;
  expect(jobPath).toMatch(new RegExp(`^/network/${w.netA}/bulk/jobs/`));
  let text = "";
  for (let i = 0; i < 100; i++) {
    text = await (await get(jobPath, w.a.cookie)).text();
    if (!text.includes('http-equiv="refresh"')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(text).not.toContain('http-equiv="refresh"');
  expect(text).toContain("<progress");
  expect(text).toContain("Deleted 2 user(s)");
  expect(text).toContain("Row 4: unknown");
  expect(text).toContain(`${jobPath}/report.csv`);
  expect(await (await get(`${jobPath}/report.csv`, w.a.cookie)).text()).toBe("row,username,result\n4,unknown,not found\n");
  // Network B's administrator cannot see A's job.
  expect((await get(jobPath.replace(w.netA, w.netB), w.b.cookie)).status).toBe(404);
  expect(listDirectory(w.s.ctx, w.netA, { search: "gone", limit: 10, offset: 0 }).total).toBe(0);
});

test("the Default group cannot be deleted from the console; setting errors sit next to their fields", async () => {
  const def = listSecurityGroups(w.s.ctx, w.netA).find((g) => g.isDefault)!;
  const refused = await w.a.form(`/network/${w.netA}/security-groups/${def.id}/delete`, {});
  expect(refused.status).toBe(409);
  expect(await refused.text()).toContain("cannot be deleted");
  const bad = await w.a.form(`/network/${w.netA}/security-groups/${def.id}`, { name: "Default", "messaging.maxUploadBytes": "lots", "security.password.minLength": "3" });
  expect(bad.status).toBe(400);
  const html = await bad.text();
  expect(html).toContain('id="f-messaging.maxUploadBytes-error"');
  expect(html).toContain('id="f-security.password.minLength-error"');
  // Nothing was saved.
  expect(listSecurityGroups(w.s.ctx, w.netA).find((g) => g.isDefault)!.settings.security.password.minLength).toBe(10);
});

test("an administrator of one network lands on it; bad user input is shown by field", async () => {
  const lone = await networkAdmin(w.s, w.sup, "lone-admin", { networkId: w.netB });
  const landing = await get("/network", lone.client.cookie);
  expect(landing.status).toBe(303);
  expect(landing.headers.get("location")).toBe(`/network/${w.netB}`);
  const res = await w.a.form(`/network/${w.netA}/users`, { username: "ok.name", password: "short" });
  expect(res.status).toBe(400);
  expect(await res.text()).toContain('id="f-password-error"');
});

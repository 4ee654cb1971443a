// Two networks with one network administrator each (plus the super administrator),
// built through the real API, for the network administrator tests.
import { AdminClient } from "../support/admin-client.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import type { Config } from "../../src/config/schema.ts";

export const ADMIN_PASSWORD = "Network-Admin-Passw0rd";
export const USER_PASSWORD = "Correct-Horse-9";

export interface NetWorld {
  s: TestServer;
  sup: AdminClient;
  a: AdminClient;
  b: AdminClient;
  netA: string;
  netB: string;
  close(): Promise<void>;
}

async function ok(res: Response, status = 200) {
  if (res.status !== status) throw new Error(`${res.url}: expected ${status}, got ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, unknown>>;
}

/** A network administrator; with `newNetworkName` the super administrator creates that network for them. */
export async function networkAdmin(s: TestServer, sup: AdminClient, username: string, network: { newNetworkName: string } | { networkId: string }): Promise<{ client: AdminClient; networkId: string }> {
  await ok(await sup.request("POST", "/api/v1/admins", { name: username, username, password: "Initial-Passw0rd-x", kind: "network", ...network }), 201);
  const client = new AdminClient(s.url);
  await client.signInFirstTime(username, "Initial-Passw0rd-x", ADMIN_PASSWORD);
  const mine = (await ok(await client.request("GET", "/api/v1/me/networks"))) as { networks: { id: string }[] };
  return { client, networkId: mine.networks[0]!.id };
}

export async function startNetWorld(overrides: Partial<Config> = {}): Promise<NetWorld> {
  const s = await startTestServer(overrides);
  const sup = new AdminClient(s.url);
  await sup.signInFirstTime("admin", s.firstAdminPassword!);
  const a = await networkAdmin(s, sup, "alice-admin", { newNetworkName: "Network A" });
  const b = await networkAdmin(s, sup, "bob-admin", { newNetworkName: "Network B" });
  return { s, sup, a: a.client, b: b.client, netA: a.networkId, netB: b.networkId, close: () => s.close() };
}

export { ok };

// A messaging test world: a real server on loopback, a network with users created
// through the services, and SDK clients registered over the real API.
import { OutpostClient, type ClientEvent, type ReceivedMessage } from "../../src/client/index.ts";
import { createNetwork } from "../../src/modules/networks/networks.service.ts";
import { createUsers, type User } from "../../src/modules/users/users.service.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

export const PASSWORD = "Correct-Horse-9";

export interface World {
  server: TestServer;
  networkId: string;
  users: Map<string, User>;
  clients: OutpostClient[];
  /** cheapHash: a low argon2id cost, for tests that sign hundreds of users in (still verified by the real sign-in). */
  addUsers(names: string[], opts?: { securityGroupId?: string; type?: "user" | "bot"; cheapHash?: boolean }): Promise<User[]>;
  /** Registers (and connects, unless told not to) a device of an existing user. */
  client(username: string, opts?: { connect?: boolean; prekeyCount?: number; syncCode?: string }): Promise<OutpostClient>;
  close(): Promise<void>;
}

export async function startWorld(opts: { keepData?: boolean; overrides?: Parameters<typeof startTestServer>[0] } = {}): Promise<World> {
  const server = await startTestServer(opts.overrides ?? {}, { keepData: opts.keepData });
  const network = await createNetwork(server.ctx, { name: "Test network" });
  const users = new Map<string, User>();
  const clients: OutpostClient[] = [];
  return {
    server,
    networkId: network.id,
    users,
    clients,
    async addUsers(names, o = {}) {
      // One argon2 hash for the shared password: see createUsers.
      const { cheapHash, ...rest } = o;
      const created = await createUsers(
        server.ctx,
        names.map((username) => ({ networkId: network.id, username, password: PASSWORD, ...rest })),
        cheapHash ? { argon2: { memoryCost: 1024, timeCost: 1 } } : {},
      );
      for (const u of created) users.set(u.username, u);
      return created;
    },
    async client(username, o = {}) {
      const c = await OutpostClient.register({
        config: { serviceUrl: server.url, networkId: network.id },
        username,
        password: PASSWORD,
        prekeyCount: o.prekeyCount ?? 30,
        ...(o.syncCode ? { syncCode: o.syncCode } : {}),
      });
      clients.push(c);
      if (o.connect !== false) await c.connect();
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
}

/** Collects a client's events of one type for assertions. */
export function collect<T extends ClientEvent["type"]>(client: OutpostClient, type: T): Extract<ClientEvent, { type: T }>[] {
  const out: Extract<ClientEvent, { type: T }>[] = [];
  client.on(type, (e) => out.push(e));
  return out;
}

export function inbox(client: OutpostClient): ReceivedMessage[] {
  const out: ReceivedMessage[] = [];
  client.on("message", (e) => out.push(e.message));
  return out;
}

/** Polls until the condition holds (bounded). */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await Bun.sleep(5);
  }
}

// Shared by the relay benchmark and the chaos script: seed a data directory through the
// services (before the server process starts), register SDK devices over the API, and
// open raw relay sockets that count deliveries without decrypting them.
import { loadConfig } from "../../src/config/load.ts";
import { openContext } from "../../src/app/server.ts";
import { applyMigrations } from "../../src/db/migrate.ts";
import { createLogger } from "../../src/log/logger.ts";
import { createNetwork } from "../../src/modules/networks/networks.service.ts";
import { createUsers } from "../../src/modules/users/users.service.ts";
import { OutpostClient } from "../../src/client/index.ts";
import { toHex } from "../../src/crypto/index.ts";

export const PASSWORD = "Bench-Password-1";

/** Creates a network and users in dataDir via the services; one cheap argon2id hash for all (benchmark users only). */
export async function seedNetwork(dataDir: string, usernames: string[]): Promise<string> {
  const { config } = loadConfig({ flags: { dataDir }, env: {} });
  const ctx = openContext(config, createLogger({ level: "silent", eventLogging: "activity", stdout: false }));
  try {
    applyMigrations(ctx.storage);
    const network = await createNetwork(ctx, { name: "Bench" });
    for (let i = 0; i < usernames.length; i += 500) {
      await createUsers(ctx, usernames.slice(i, i + 500).map((username) => ({ networkId: network.id, username, password: PASSWORD })), { argon2: { memoryCost: 1024, timeCost: 1 } });
    }
    return network.id;
  } finally {
    await ctx.writer.drain();
    ctx.writer.close();
    ctx.storage.close();
  }
}

export async function registerAll(url: string, networkId: string, usernames: string[], prekeyCount = 2, concurrency = 25): Promise<OutpostClient[]> {
  const out: OutpostClient[] = [];
  for (let i = 0; i < usernames.length; i += concurrency) {
    out.push(...(await Promise.all(usernames.slice(i, i + concurrency).map((username) => OutpostClient.register({ config: { serviceUrl: url, networkId }, username, password: PASSWORD, prekeyCount })))));
  }
  return out;
}

/** The packet id inside a delivery frame (u64 seq ‖ u32 header length ‖ version ‖ suite ‖ id). */
export function deliveredPacketId(frame: Uint8Array): string {
  return toHex(frame.subarray(8 + 4 + 2, 8 + 4 + 2 + 16));
}

export interface RawDevice {
  ws: WebSocket;
  onDelivery: (packetId: string, seq: number) => void;
  onControl: (msg: Record<string, unknown>) => void;
  send(bytes: Uint8Array): void;
  close(): void;
}

/** A device's relay socket without the SDK: acknowledges its cursor every 64 frames or 100 ms, like the SDK. */
export async function rawDevice(url: string, client: OutpostClient, cursor?: number): Promise<RawDevice> {
  const state = client.exportState();
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/client/v1/relay`);
  ws.binaryType = "arraybuffer";
  let last = 0;
  let unacked = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ack = () => {
    timer = undefined;
    unacked = 0;
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ t: "ack", seq: last }));
  };
  const device: RawDevice = {
    ws,
    onDelivery: () => undefined,
    onControl: () => undefined,
    send: (bytes) => ws.send(bytes as Uint8Array<ArrayBuffer>),
    close: () => ws.close(),
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => ws.send(JSON.stringify({ t: "auth", device: state.deviceId, token: state.token, ...(cursor !== undefined ? { cursor } : {}) }));
    ws.onerror = () => reject(new Error("relay socket failed"));
    ws.onmessage = (e) => {
      if (typeof e.data === "string") {
        const msg = JSON.parse(e.data) as Record<string, unknown>;
        if (msg.t === "ready") return resolve();
        return device.onControl(msg);
      }
      const frame = new Uint8Array(e.data as ArrayBuffer);
      const view = new DataView(frame.buffer);
      const seq = (view.getUint32(0) & 0x7fffffff) * 2 ** 32 + view.getUint32(4); // top bit: directed delivery
      last = Math.max(last, seq);
      device.onDelivery(deliveredPacketId(frame), seq);
      if (++unacked >= 64) ack();
      else timer ??= setTimeout(ack, 100); // as the SDK does
    };
  });
  void timer;
  return device;
}

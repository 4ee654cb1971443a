// The relay's WebSocket endpoint: Hono's upgradeWebSocket for the route, and the Bun
// websocket handler the server installs. Binary frames and drain go straight to the
// device session (no per-frame wrapper objects on the hot path); open/close go via Hono.
import type { ServerWebSocket, WebSocketHandler } from "bun";
import { createRoute } from "@hono/zod-openapi";
import { upgradeWebSocket, websocket as honoWebSocket } from "hono/bun";
import type { WSEvents } from "hono/ws";
import type { AppContext } from "../app/context.ts";
import type { App } from "../http/types.ts";
import { MAX_PACKET_BYTES } from "./accept.ts";
import { startExpirer } from "./expirer.ts";
import { relayHooks } from "./hooks.ts";
import { DeviceSession } from "./session.ts";

export const RELAY_PATH = "/api/client/v1/relay";

interface RelayEvents {
  session?: DeviceSession;
}
type HonoData = { events: RelayEvents };

export function registerRelayRoutes(app: App, ctx: AppContext) {
  // Documented for the API reference; the handler below is mounted on the same path.
  app.openAPIRegistry.registerPath(
    createRoute({
      method: "get",
      path: RELAY_PATH,
      tags: ["Client"],
      summary: "Relay WebSocket (upgrade): first text frame {t:'auth',device,token,cursor?}; binary frames are packets; see src/client/README.md",
      responses: { 101: { description: "switching protocols" } },
    }),
  );
  app.get(
    RELAY_PATH,
    upgradeWebSocket(() => {
      const events: RelayEvents & WSEvents = {
        onOpen(_e, ws) {
          events.session = new DeviceSession(ctx, ws.raw as ServerWebSocket<unknown>);
        },
        onClose() {
          events.session?.onClosed();
        },
      };
      return events;
    }),
  );
}

/** Bun's websocket handler: Hono's, plus the raw message and drain paths of the relay. */
export const relayWebSocketHandler: WebSocketHandler<HonoData> = {
  ...(honoWebSocket as unknown as WebSocketHandler<HonoData>),
  message(ws, message) {
    const session = ws.data.events.session;
    if (session) session.onFrame(typeof message === "string" ? message : new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
  },
  drain(ws) {
    ws.data.events.session?.onDrain();
  },
  // Frames up to twice the packet limit reach the relay and get a clear refusal; larger ones close the socket (1009).
  maxPayloadLength: 2 * MAX_PACKET_BYTES,
  backpressureLimit: 16 * 1024 * 1024,
  idleTimeout: 120,
  sendPings: true,
};

/** Background parts of the relay that live as long as the server. */
export function startRelay(ctx: AppContext): { stop(): void } {
  const expirer = startExpirer(ctx);
  return {
    stop() {
      expirer.stop();
      for (const s of [...relayHooks(ctx).sessions.values()]) s.close(1001, "server shutting down");
    },
  };
}

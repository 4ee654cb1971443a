// Admin API of the calling node: its health, the active calls with their participants
// (what the admin dashboard shows), and ending a call. Deployment-wide permissions; calls set
// up through this server name their network and conversation, and the list filters by network.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../app/context.ts";
import { actorOf, guarded } from "../http/auth.ts";
import { errorResponses } from "../http/openapi.ts";
import type { App } from "../http/types.ts";
import { callingStatus, endCall } from "./calling.service.ts";

const Participant = z.object({
  participantId: z.string(),
  role: z.string(),
  send: z.array(z.string()),
  forceTcp: z.boolean(),
  connection: z.string(),
  packetsIn: z.number(),
  packetsDropped: z.number(),
  packetsOut: z.number(),
});
const Call = z.object({
  callId: z.string(),
  mode: z.string(),
  startedAt: z.string(),
  forwardedPackets: z.number(),
  participants: z.array(Participant),
  /** null for calls the node has that were not set up through this server. */
  networkId: z.string().nullable(),
  conversationId: z.string().nullable(),
});
const Status = z
  .object({
    mode: z.enum(["off", "spawn", "external"]),
    node: z.object({ state: z.string(), reachable: z.boolean(), restarts: z.number() }),
    totals: z.object({ calls: z.number(), participants: z.number() }),
    calls: z.array(Call),
    nextOffset: z.number().nullable(),
  })
  .openapi("CallingStatus");

const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });

export function registerCallingRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/calling/status",
      tags: ["Calling"],
      summary: "Calling node health, active calls and their participants",
      ...guarded("calling.read"),
      request: {
        query: z.object({
          limit: z.coerce.number().int().min(1).max(200).default(50),
          offset: z.coerce.number().int().min(0).default(0),
          networkId: z.string().min(1).max(64).optional(),
        }),
      },
      responses: { 200: { description: "status", ...json(Status) }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => c.json(await callingStatus(ctx, c.req.valid("query")), 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/calling/calls/{callId}/end",
      tags: ["Calling"],
      summary: "End an active call for everyone in it",
      ...guarded("calling.write"),
      request: { params: z.object({ callId: z.string().min(1).max(128) }) },
      responses: { 204: { description: "ended" }, ...errorResponses(401, 403, 404, 503) },
    }),
    async (c) => {
      await endCall(ctx, actorOf(c), c.req.valid("param").callId);
      return c.body(null, 204);
    },
  );
}

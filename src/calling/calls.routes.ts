// Client API for call setup: start a call in one of your conversations, or join an active
// one; both answer with a single-use node join token the client presents over the relay.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../app/context.ts";
import { errorResponses } from "../http/openapi.ts";
import type { App } from "../http/types.ts";
import { bearerSecurity, deviceOf } from "../modules/devices/device-auth.ts";
import { joinCall, startCall } from "./calls.service.ts";

const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });
const base = { tags: ["Client"], security: bearerSecurity };
const Kinds = z.object({ audio: z.boolean(), video: z.boolean(), screen: z.boolean() });
const Ticket = z
  .object({
    callId: z.string(),
    conversationId: z.string(),
    mode: z.enum(["call", "broadcast"]),
    role: z.enum(["sender", "listener"]),
    participantId: z.string(),
    startedAt: z.string(),
    startedBy: z.string(),
    token: z.string(),
    expiresAt: z.string(),
    kinds: Kinds,
    forceTcp: z.boolean(),
  })
  .openapi("CallTicket");

export function registerCallRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/api/client/v1/calls",
      summary: "Start a call (or a broadcast) in one of your conversations; answers with your node join token",
      request: {
        body: json(
          z
            .object({
              conversationId: z.string().regex(/^([0-9a-f]{64}|[SG][0-9a-f]{63})$/, "a conversation id"),
              mode: z.enum(["call", "broadcast"]).default("call"),
            })
            .strict(),
        ),
      },
      responses: { 201: { description: "started", ...json(Ticket) }, ...errorResponses(400, 401, 403, 404, 429, 503) },
    }),
    async (c) => c.json(await startCall(ctx, deviceOf(ctx, c), c.req.valid("json")), 201),
  );
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/api/client/v1/calls/{callId}/join",
      summary: "Join an active call of one of your conversations (100 participants; broadcasts: 5 senders, 500 in all)",
      request: {
        params: z.object({ callId: z.string().regex(/^c[0-9a-f]{32}$/, "a call id") }),
        body: json(z.object({ role: z.enum(["sender", "listener"]).optional() }).strict()),
      },
      responses: { 200: { description: "joined", ...json(Ticket) }, ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
    }),
    async (c) => c.json(await joinCall(ctx, deviceOf(ctx, c), c.req.valid("param").callId, c.req.valid("json")), 200),
  );
}

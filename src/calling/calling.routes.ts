// Admin API of the calling node: its health, the active calls with their participants
// (what the admin dashboard shows), and ending a call. Super administrators only: calls
// are not yet tied to networks (the relay integration will scope them).
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../app/context.ts";
import { requireAdmin } from "../http/auth.ts";
import { AppError } from "../http/errors.ts";
import { errorResponses } from "../http/openapi.ts";
import type { App } from "../http/types.ts";
import { callingService } from "./supervisor.ts";

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
const Call = z.object({ callId: z.string(), mode: z.string(), startedAt: z.string(), forwardedPackets: z.number(), participants: z.array(Participant) });
const Status = z
  .object({
    mode: z.enum(["spawn", "external"]),
    node: z.object({ state: z.string(), reachable: z.boolean(), restarts: z.number() }),
    totals: z.object({ calls: z.number(), participants: z.number() }),
    calls: z.array(Call),
    nextOffset: z.number().nullable(),
  })
  .openapi("CallingStatus");

const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });

function service(ctx: AppContext, kind: string) {
  if (kind !== "super") throw new AppError("forbidden", "only super administrators see calls (calls are not scoped to networks yet)");
  const s = callingService(ctx);
  if (!s) throw new AppError("unavailable", "calling is off on this server (callingMode=off)");
  return s;
}

export function registerCallingRoutes(app: App, ctx: AppContext) {
  app.use("/api/v1/calling/*", requireAdmin());
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/calling/status",
      tags: ["Calling"],
      summary: "Calling node health, active calls and their participants",
      request: {
        query: z.object({
          limit: z.coerce.number().int().min(1).max(200).default(50),
          offset: z.coerce.number().int().min(0).default(0),
        }),
      },
      responses: { 200: { description: "status", ...json(Status) }, ...errorResponses(400, 401, 403, 503) },
    }),
    async (c) => {
      const s = service(ctx, c.get("admin")!.kind);
      const { limit, offset } = c.req.valid("query");
      const node = { state: s.supervisor?.state ?? "external", reachable: false, restarts: s.supervisor?.restarts ?? 0 };
      try {
        const stats = await s.client.stats();
        node.reachable = true;
        const calls = [...stats.calls].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.callId.localeCompare(b.callId));
        const page = calls.slice(offset, offset + limit);
        return c.json({ mode: ctx.config.callingMode as "spawn" | "external", node, totals: stats.totals, calls: page, nextOffset: offset + limit < calls.length ? offset + limit : null }, 200);
      } catch {
        return c.json({ mode: ctx.config.callingMode as "spawn" | "external", node, totals: { calls: 0, participants: 0 }, calls: [], nextOffset: null }, 200);
      }
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/calling/calls/{callId}/end",
      tags: ["Calling"],
      summary: "End an active call for everyone in it",
      request: { params: z.object({ callId: z.string().min(1).max(128) }) },
      responses: { 204: { description: "ended" }, ...errorResponses(401, 403, 404, 503) },
    }),
    async (c) => {
      const admin = c.get("admin")!;
      const s = service(ctx, admin.kind);
      const { callId } = c.req.valid("param");
      try {
        await s.client.endCall(callId);
      } catch (e) {
        if (/404/.test((e as Error).message)) throw new AppError("not_found", `no active call ${callId}`);
        throw new AppError("unavailable", "the calling node is not reachable");
      }
      ctx.log.logger.info({ admin: admin.username, callId }, "administrator ended a call");
      return c.body(null, 204);
    },
  );
}

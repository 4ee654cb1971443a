// Liveness, readiness and version: what load balancers, supervisors and the smoke test ask.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import type { App } from "../../http/types.ts";
import { readiness } from "./system.service.ts";

const Check = z.object({ ok: z.boolean(), detail: z.string().optional() });
const Ready = z.object({ ready: z.boolean(), checks: z.record(z.string(), Check) }).openapi("Readiness");

export function registerSystemRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      tags: ["System"],
      summary: "Liveness: the process answers",
      responses: { 200: { description: "alive", content: { "application/json": { schema: z.object({ status: z.literal("ok"), uptimeSeconds: z.number() }) } } } },
    }),
    (c) => c.json({ status: "ok" as const, uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000) }, 200),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/readyz",
      tags: ["System"],
      summary: "Readiness: database writable, migrations applied, dependent services reachable",
      responses: {
        200: { description: "ready", content: { "application/json": { schema: Ready } } },
        503: { description: "not ready; checks say which part is failing", content: { "application/json": { schema: Ready } } },
      },
    }),
    async (c) => {
      const r = await readiness(ctx);
      return c.json(r, r.ready ? 200 : 503);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/version",
      tags: ["System"],
      summary: "Server version",
      responses: { 200: { description: "version", content: { "application/json": { schema: z.object({ version: z.string(), sqlite: z.string() }) } } } },
    }),
    (c) => c.json({ version: ctx.version, sqlite: ctx.storage.sqliteVersion }, 200),
  );
}

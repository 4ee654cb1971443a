// REST endpoints for the audit log: a filtered page as JSON, or all matching rows as CSV.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { guarded } from "../../http/auth.ts";
import { errorResponses, json, pageQuery } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { auditCsv, listAudit, toFilter } from "./audit.service.ts";

const Filter = z.object({
  actor: z.string().max(200).optional().describe("exact actor name (administrator username or token:<label>)"),
  action: z.string().max(100).optional().describe("action, or its prefix (network. finds every network action)"),
  from: z.iso.datetime({ offset: true }).optional().describe("earliest time (ISO 8601)"),
  to: z.iso.datetime({ offset: true }).optional().describe("latest time (ISO 8601)"),
});
const Entry = z
  .object({
    id: z.number(),
    at: z.string(),
    actorType: z.string(),
    actorName: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    ip: z.string().nullable(),
    networkId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi("AuditEntry");

export function registerAuditRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/audit",
      tags: ["Audit log"],
      summary: "Audit log entries, newest first",
      ...guarded("audit.read"),
      request: { query: pageQuery.extend(Filter.shape) },
      responses: { 200: { description: "a page of entries", ...json(z.object({ items: z.array(Entry), total: z.number() })) }, ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const q = c.req.valid("query");
      const r = listAudit(ctx, toFilter(q), q);
      return c.json(
        {
          items: r.items.map((e) => ({ id: e.id, at: e.at.toISOString(), actorType: e.actorType, actorName: e.actorName, action: e.action, target: e.target, ip: e.ip, networkId: e.networkId, details: e.details })),
          total: r.total,
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/audit.csv",
      tags: ["Audit log"],
      summary: "Audit log entries as CSV (same filters)",
      ...guarded("audit.read"),
      request: { query: Filter },
      responses: { 200: { description: "CSV with a header row", content: { "text/csv": { schema: z.string() } } }, ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      c.header("Content-Disposition", 'attachment; filename="outpost-audit.csv"');
      return c.body(auditCsv(ctx, toFilter(c.req.valid("query"))), 200, { "Content-Type": "text/csv; charset=utf-8" });
    },
  );
}

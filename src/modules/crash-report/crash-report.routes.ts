// REST endpoint for the crash report download.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { actorOf, guarded } from "../../http/auth.ts";
import { errorResponses } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { audit } from "../audit/audit.service.ts";
import { buildCrashReport } from "./crash-report.service.ts";

export function registerCrashReportRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/crash-report",
      tags: ["System"],
      summary: "Download the crash report (zip)",
      description: "Recent logs, configuration with secrets redacted, versions and readiness.",
      ...guarded("crashreport.read"),
      responses: { 200: { description: "zip archive", content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } } }, ...errorResponses(401, 403) },
    }),
    async (c) => {
      const zip = await buildCrashReport(ctx);
      await audit(ctx, { actor: actorOf(c), action: "crashreport.download", target: "crash report", details: { bytes: zip.length } });
      return c.body(zip as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/zip", "Content-Disposition": `attachment; filename="outpost-crash-report-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.zip"` });
    },
  );
}

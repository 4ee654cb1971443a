// The single HTTP app factory: request ids, security headers, body limits,
// one error shape, then every feature's routes.
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { AppContext } from "../app/context.ts";
import { registerCallingRoutes } from "../calling/calling.routes.ts";
import { registerCallRoutes } from "../calling/calls.routes.ts";
import { registerAuthRoutes } from "../modules/admins/auth.routes.ts";
import { registerSystemRoutes } from "../modules/system/system.routes.ts";
import { registerAdminRoutes } from "../modules/admins/admins.routes.ts";
import { registerNetworkRoutes } from "../modules/networks/networks.routes.ts";
import { registerAccessRoutes } from "../modules/access/access.routes.ts";
import { registerSettingsRoutes } from "../modules/settings/settings.routes.ts";
import { registerAuditRoutes } from "../modules/audit/audit.routes.ts";
import { registerCrashReportRoutes } from "../modules/crash-report/crash-report.routes.ts";
import { isSyncHistoryUpload, registerDeviceRoutes } from "../modules/devices/devices.routes.ts";
import { registerConversationRoutes } from "../modules/conversations/conversations.routes.ts";
import { registerOwnPasswordRoutes } from "../modules/users/own-password.routes.ts";
import { registerRelayRoutes } from "../relay/gateway.ts";
import { isChunkUpload, registerFileRoutes } from "../modules/files/files.routes.ts";
import { BULK_CSV_LIMIT, isBulkCsvUpload } from "../modules/users/bulk-jobs.service.ts";
import { registerComplianceRoutes } from "../modules/compliance/compliance.routes.ts";
import { registerNetworkAdminRoutes } from "../modules/network-admin/network-admin.routes.ts";
import { registerNetworkConsole } from "../console/network/routes.ts";
import { loadSession } from "./auth.ts";
import { registerAccountPages } from "../console/account.tsx";
import { registerSuperConsole } from "../console/admin/routes.ts";
import { CONSOLE_PREFIXES, consoleErrorPage, isConsolePath, sameOrigin } from "../console/console-auth.tsx";
import { AppError, sendError, validationError } from "./errors.ts";
import { accessLog, limitBody, requestId, securityHeaders } from "./middleware.ts";
import { registerApiDocs } from "./openapi.ts";
import { registerStaticAssets } from "./static.ts";
import type { App, AppEnv } from "./types.ts";

export function createHttpApp(ctx: AppContext): App {
  const app: App = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return sendError(c, validationError(result.error as never, result.target));
    },
  });

  app.use("*", requestId());
  app.use("*", securityHeaders({ tls: ctx.config.tls !== "off" }));
  app.use("*", accessLog(ctx));
  const jsonLimit = limitBody(ctx.config.bodyLimitBytes);
  // Encrypted file chunks are raw bytes with their own limit (the chunk size): see files.routes.ts.
  // Bulk CSV uploads have their own larger limit too: see bulk-jobs.service.ts.
  const bulkLimit = limitBody(BULK_CSV_LIMIT);
  app.use("/api/*", (c, next) => (isChunkUpload(c.req.method, c.req.path) || isBulkCsvUpload(c.req.method, c.req.path) || isSyncHistoryUpload(c.req.method, c.req.path) ? next() : jsonLimit(c, next)));
  app.use("/api/*", loadSession(ctx));
  for (const prefix of CONSOLE_PREFIXES) {
    for (const path of [prefix, `${prefix}/*`]) {
      app.use(path, (c, next) => (isBulkCsvUpload(c.req.method, c.req.path) ? bulkLimit(c, next) : jsonLimit(c, next)));
      app.use(path, loadSession(ctx));
      app.use(path, sameOrigin());
    }
  }

  registerSystemRoutes(app, ctx);
  registerAuthRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  registerNetworkRoutes(app, ctx);
  registerAccessRoutes(app, ctx);
  registerSettingsRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerCrashReportRoutes(app, ctx);
  registerAccountPages(app, ctx);
  registerSuperConsole(app, ctx);
  registerNetworkAdminRoutes(app, ctx);
  registerNetworkConsole(app, ctx);
  registerCallingRoutes(app, ctx);
  registerDeviceRoutes(app, ctx);
  registerConversationRoutes(app, ctx);
  registerCallRoutes(app, ctx);
  registerOwnPasswordRoutes(app, ctx);
  registerRelayRoutes(app, ctx);
  registerFileRoutes(app, ctx);
  registerComplianceRoutes(app, ctx);
  registerApiDocs(app, ctx);
  registerStaticAssets(app);

  app.notFound((c) => {
    const err = new AppError("not_found", `nothing at ${c.req.method} ${c.req.path}`);
    return isConsolePath(c.req.path) ? consoleErrorPage(c, err) : sendError(c, err);
  });
  app.onError((err, c) => {
    if (err instanceof AppError) return isConsolePath(c.req.path) ? consoleErrorPage(c, err) : sendError(c, err);
    if (err instanceof SyntaxError || (err instanceof HTTPException && err.status === 400 && /JSON|Malformed/i.test(err.message))) {
      return sendError(c, new AppError("malformed_json", "the request body is not valid JSON"));
    }
    if (err instanceof HTTPException) {
      const code = err.status === 413 ? "payload_too_large" : err.status === 401 ? "unauthenticated" : err.status === 403 ? "forbidden" : err.status === 404 ? "not_found" : "bad_request";
      return sendError(c, new AppError(code, err.message || code));
    }
    ctx.log.logger.error({ requestId: c.get("requestId"), err: { name: err.name, message: err.message, stack: err.stack } }, "unhandled error");
    return sendError(c, new AppError("internal", "something went wrong on the server; the request id identifies it in the log"));
  });
  return app;
}

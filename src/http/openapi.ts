// The OpenAPI 3.1 document (built from the same zod route specs that validate
// requests) and the offline interactive reference at /api/docs.
import { z } from "@hono/zod-openapi";
import { errorBodySchema, errorCodes } from "./errors.ts";
import type { App } from "./types.ts";
import type { AppContext } from "../app/context.ts";

const descriptions: Record<number, string> = {
  400: "the request is not valid (details name each field and rule)",
  401: "not signed in, or the credentials are wrong",
  403: "signed in but not allowed (permission, CSRF token, or a password change is due)",
  404: "no such resource",
  409: "conflicts with the current state",
  413: "the body is larger than allowed",
  423: "the account is locked",
  429: "too many requests",
  500: "an unexpected error (the request id leads to the log line)",
  503: "not ready",
};

/** Standard error responses for a route spec, all with the one error shape. */
export function errorResponses(...statuses: number[]) {
  const out: Record<number, { description: string; content: { "application/json": { schema: typeof errorBodySchema } } }> = {};
  for (const s of statuses) out[s] = { description: descriptions[s] ?? "error", content: { "application/json": { schema: errorBodySchema } } };
  return out;
}

/** A JSON request or response body with this schema. */
export const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });

/** Query parameters of every paginated list. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).describe("items per page (1 to 500)"),
  offset: z.coerce.number().int().min(0).default(0).describe("items to skip"),
});

export function registerApiDocs(app: App, ctx: AppContext) {
  // Each guarded route names its permission (x-permission); say so in its description too, for people reading /api/docs.
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== "route") continue;
    const permission = (def.route as { "x-permission"?: string })["x-permission"];
    if (permission) def.route.description = `${def.route.description ? `${def.route.description}\n\n` : ""}Needs the \`${permission}\` permission (session or API token).`;
  }
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", description: "an API access token created in the console (Super administrator → API tokens)" });
  app.openAPIRegistry.registerComponent("securitySchemes", "session", {
    type: "apiKey",
    in: "cookie",
    name: "outpost_session",
    description: "console session from POST /api/v1/auth/sign-in; state changes also need the X-CSRF-Token header",
  });
  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Outpost API",
      version: ctx.version,
      description:
        "REST API of an Outpost server. Authenticate with a console session (cookie from POST /api/v1/auth/sign-in, plus the X-CSRF-Token header on state changes) or an API token (Authorization: Bearer). Every error has the shape {\"error\":{\"code\",\"message\",\"details\"?,\"requestId\"}}. " +
        `Error codes: ${Object.keys(errorCodes).join(", ")}.`,
    },
  });
  app.get("/api/docs", (c) => {
    c.header("Cache-Control", "no-cache");
    return c.html(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outpost API reference</title><link rel="icon" href="/favicon.svg"></head>
<body><div id="app"></div>
<script src="/api/docs/scalar.js"></script>
<script src="/api-docs/init.js"></script>
</body></html>`);
  });
}

// Client API: a signed-in device changes its user's password (where the security group
// allows it). The web client re-encrypts its local vault under the new password after this.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { errorResponses } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { bearerSecurity, deviceOf } from "../devices/device-auth.ts";
import { changeOwnPassword } from "./users.service.ts";

export function registerOwnPasswordRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/client/v1/me/password",
      tags: ["Client"],
      security: bearerSecurity,
      summary: "Change your own password (refused when your security group does not allow it; wrong current passwords count towards suspension)",
      request: {
        body: {
          required: true,
          content: { "application/json": { schema: z.object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().min(1).max(1024) }).strict() } },
        },
      },
      responses: { 204: { description: "changed" }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      const me = deviceOf(ctx, c);
      const body = c.req.valid("json");
      await changeOwnPassword(ctx, me.networkId, me.userId, body.currentPassword, body.newPassword);
      return c.body(null, 204);
    },
  );
}

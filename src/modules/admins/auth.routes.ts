// REST endpoints for administrator sign-in, sign-out, current session and password change.
import { createRoute, z } from "@hono/zod-openapi";
import { deleteCookie, setCookie } from "hono/cookie";
import type { AppContext } from "../../app/context.ts";
import { SESSION_COOKIE, requireAdmin } from "../../http/auth.ts";
import { errorResponses } from "../../http/openapi.ts";
import { clientIp } from "../../http/middleware.ts";
import type { App } from "../../http/types.ts";
import { SESSION_ABSOLUTE_MS, changePassword, signIn, signOut } from "./admins.service.ts";

const AdminSession = z
  .object({
    username: z.string(),
    name: z.string(),
    kind: z.enum(["super", "network"]),
    passwordChangeRequired: z.boolean(),
    csrfToken: z.string().describe("send as X-CSRF-Token on every state-changing request"),
  })
  .openapi("AdminSession");

const SignIn = z.object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) }).strict().openapi("SignIn");
const ChangePassword = z.object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().min(1).max(1024) }).strict().openapi("ChangePassword");

const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });

export function registerAuthRoutes(app: App, ctx: AppContext) {
  const secure = ctx.config.tls !== "off";

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/auth/sign-in",
      tags: ["Authentication"],
      summary: "Sign in as an administrator",
      description: "Starts a console session (cookie). Signing in ends any other session of the same administrator.",
      request: { body: { required: true, ...json(SignIn) } },
      responses: { 200: { description: "signed in", ...json(AdminSession) }, ...errorResponses(400, 401, 413) },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const ip = clientIp(c);
      const { sessionSecret, principal } = await signIn(ctx, { ...body, ...(ip ? { ip } : {}), userAgent: c.req.header("user-agent") ?? "" });
      setCookie(c, SESSION_COOKIE, sessionSecret, { httpOnly: true, sameSite: "Strict", secure, path: "/", maxAge: SESSION_ABSOLUTE_MS / 1000 });
      return c.json({ username: principal.username, name: principal.name, kind: principal.kind, passwordChangeRequired: principal.mustChangePassword, csrfToken: principal.csrfToken }, 200);
    },
  );

  app.use("/api/v1/auth/session", requireAdmin({ allowDuringPasswordChange: true }));
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/auth/session",
      tags: ["Authentication"],
      summary: "The signed-in administrator",
      responses: { 200: { description: "current session", ...json(AdminSession) }, ...errorResponses(401) },
    }),
    (c) => {
      const a = c.get("admin")!;
      return c.json({ username: a.username, name: a.name, kind: a.kind, passwordChangeRequired: a.mustChangePassword, csrfToken: a.csrfToken }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/v1/auth/session",
      tags: ["Authentication"],
      summary: "Sign out",
      responses: { 204: { description: "signed out" }, ...errorResponses(401, 403) },
    }),
    async (c) => {
      await signOut(ctx, c.get("admin")!.sessionIdHash);
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return c.body(null, 204);
    },
  );

  app.use("/api/v1/auth/password", requireAdmin({ allowDuringPasswordChange: true }));
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/auth/password",
      tags: ["Authentication"],
      summary: "Change the signed-in administrator's password",
      description: "Required after the first sign-in with a one-time password. At least 12 characters mixing lower case, upper case and digits.",
      request: { body: { required: true, ...json(ChangePassword) } },
      responses: { 204: { description: "changed" }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      await changePassword(ctx, c.get("admin")!, c.req.valid("json"));
      return c.body(null, 204);
    },
  );
}

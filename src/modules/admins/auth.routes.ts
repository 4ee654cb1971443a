// REST endpoints for administrator sign-in, sign-out, current session,
// password change and two-factor enrollment (self-service, session only).
import { createRoute, z } from "@hono/zod-openapi";
import { deleteCookie, setCookie } from "hono/cookie";
import type { AppContext } from "../../app/context.ts";
import { SESSION_COOKIE, requireAdmin } from "../../http/auth.ts";
import { errorResponses, json } from "../../http/openapi.ts";
import { clientIp } from "../../http/middleware.ts";
import type { App } from "../../http/types.ts";
import { SESSION_ABSOLUTE_MS, changePassword, confirmTotpEnrollment, disableTotp, signIn, signOut, startTotpEnrollment, type AdminPrincipal } from "./admins.service.ts";

const AdminSession = z
  .object({
    username: z.string(),
    name: z.string(),
    kind: z.enum(["super", "network"]),
    passwordChangeRequired: z.boolean(),
    totpEnabled: z.boolean(),
    permissions: z.array(z.string()),
    csrfToken: z.string().describe("send as X-CSRF-Token on every state-changing request"),
  })
  .openapi("AdminSession");

const SignIn = z
  .object({
    username: z.string().min(1).max(128),
    password: z.string().min(1).max(1024),
    totpCode: z.string().max(12).optional().describe("6-digit code, required once two-factor sign-in is enabled"),
  })
  .strict()
  .openapi("SignIn");
const ChangePassword = z.object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().min(1).max(1024) }).strict().openapi("ChangePassword");
const TotpEnrollment = z.object({ secret: z.string(), uri: z.string().describe("otpauth:// URI"), qrSvg: z.string().describe("the URI as a QR code (SVG)") }).openapi("TotpEnrollment");

export const sessionView = (a: AdminPrincipal) => ({
  username: a.username,
  name: a.name,
  kind: a.kind,
  passwordChangeRequired: a.mustChangePassword,
  totpEnabled: a.totpEnabled,
  permissions: [...a.permissions].sort(),
  csrfToken: a.csrfToken,
});

export function registerAuthRoutes(app: App, ctx: AppContext) {
  const secure = ctx.config.tls !== "off";

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/auth/sign-in",
      tags: ["Authentication"],
      summary: "Sign in as an administrator",
      description:
        "Starts a console session (cookie). Signing in ends any other session of the same administrator. Wrong passwords or codes count towards the lockout threshold (Settings); a locked account answers 423 until a super administrator unlocks it.",
      request: { body: { required: true, ...json(SignIn) } },
      responses: { 200: { description: "signed in", ...json(AdminSession) }, ...errorResponses(400, 401, 413, 423) },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const ip = clientIp(c);
      const { sessionSecret, principal } = await signIn(ctx, { ...body, ...(ip ? { ip } : {}), userAgent: c.req.header("user-agent") ?? "" });
      setCookie(c, SESSION_COOKIE, sessionSecret, { httpOnly: true, sameSite: "Strict", secure, path: "/", maxAge: SESSION_ABSOLUTE_MS / 1000 });
      return c.json(sessionView(principal), 200);
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
    (c) => c.json(sessionView(c.get("admin")!), 200),
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
      await signOut(ctx, c.get("admin")!, clientIp(c));
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
      description: "Required after the first sign-in with a one-time password. The password policy is in Settings (default: at least 12 characters mixing lower case, upper case and digits).",
      request: { body: { required: true, ...json(ChangePassword) } },
      responses: { 204: { description: "changed" }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      await changePassword(ctx, c.get("admin")!, c.req.valid("json"), clientIp(c));
      return c.body(null, 204);
    },
  );

  app.use("/api/v1/auth/two-factor/*", requireAdmin());
  app.use("/api/v1/auth/two-factor", requireAdmin());
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/auth/two-factor/enrollment",
      tags: ["Authentication"],
      summary: "Start two-factor enrollment",
      description: "Returns a new TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s) as an otpauth:// URI and QR code. It takes effect once POST /api/v1/auth/two-factor confirms a code.",
      responses: { 200: { description: "enrollment started", ...json(TotpEnrollment) }, ...errorResponses(401, 403) },
    }),
    async (c) => c.json(await startTotpEnrollment(ctx, c.get("admin")!), 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/auth/two-factor",
      tags: ["Authentication"],
      summary: "Confirm enrollment with a code: two-factor sign-in is on from now",
      request: { body: { required: true, ...json(z.object({ code: z.string().min(1).max(12) }).strict()) } },
      responses: { 204: { description: "enabled" }, ...errorResponses(400, 401, 403, 409) },
    }),
    async (c) => {
      await confirmTotpEnrollment(ctx, c.get("admin")!, c.req.valid("json").code, clientIp(c));
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/v1/auth/two-factor",
      tags: ["Authentication"],
      summary: "Turn two-factor sign-in off (needs the current password)",
      request: { body: { required: true, ...json(z.object({ currentPassword: z.string().min(1).max(1024) }).strict()) } },
      responses: { 204: { description: "disabled" }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      await disableTotp(ctx, c.get("admin")!, c.req.valid("json").currentPassword, clientIp(c));
      return c.body(null, 204);
    },
  );
}

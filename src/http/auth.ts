// Console/API authentication: the session cookie, CSRF on every state change,
// and the forced password change. API tokens (super administrator issue) plug in here.
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { AppError } from "./errors.ts";
import type { AppEnv } from "./types.ts";
import type { AppContext } from "../app/context.ts";
import { authenticateSession } from "../modules/admins/admins.service.ts";

export const SESSION_COOKIE = "outpost_session";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Loads the administrator behind the session cookie, if any; never rejects. */
export function loadSession(ctx: AppContext): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const secret = getCookie(c, SESSION_COOKIE);
    if (secret) {
      const admin = await authenticateSession(ctx, secret);
      if (admin) c.set("admin", admin);
    }
    await next();
  };
}

/**
 * Requires a signed-in administrator. State changes must carry the session's
 * CSRF token (header X-CSRF-Token or form field _csrf). Until the one-time
 * password is changed, only the routes marked allowDuringPasswordChange work.
 */
export function requireAdmin(opts: { allowDuringPasswordChange?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const admin = c.get("admin");
    if (!admin) throw new AppError("unauthenticated", "sign in first");
    if (!SAFE_METHODS.has(c.req.method)) {
      let token = c.req.header("x-csrf-token");
      if (!token && (c.req.header("content-type") ?? "").includes("application/x-www-form-urlencoded")) {
        const form = await c.req.raw.clone().formData();
        token = String(form.get("_csrf") ?? "");
      }
      if (!token || token !== admin.csrfToken) throw new AppError("csrf_failed", "the CSRF token is missing or wrong; reload the page and try again");
    }
    if (admin.mustChangePassword && !opts.allowDuringPasswordChange) {
      throw new AppError("password_change_required", "change the one-time password before doing anything else");
    }
    await next();
  };
}

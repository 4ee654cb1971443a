// Console/API authentication and authorization: the session cookie, API
// bearer tokens, CSRF on every cookie-authenticated state change, the forced
// password change, and the per-route permission check.
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { AppError } from "./errors.ts";
import type { AppEnv } from "./types.ts";
import type { AppContext } from "../app/context.ts";
import { authenticateSession } from "../modules/admins/admins.service.ts";
import { authenticateToken } from "../modules/access/tokens.service.ts";
import type { Permission } from "../modules/access/permissions.ts";
import type { Actor } from "../modules/audit/audit.service.ts";
import { clientIp } from "./middleware.ts";

export const SESSION_COOKIE = "outpost_session";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Loads the administrator behind the session cookie, or the API token behind
 * `Authorization: Bearer`, if any; never rejects (a bad token is refused by
 * the routes that need authentication).
 */
export function loadSession(ctx: AppContext): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const authz = c.req.header("authorization");
    if (authz !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(authz);
      const token = m ? await authenticateToken(ctx, m[1]!) : null;
      c.set("token", token ?? "invalid");
    } else {
      const secret = getCookie(c, SESSION_COOKIE);
      if (secret) {
        const admin = await authenticateSession(ctx, secret);
        if (admin) c.set("admin", admin);
      }
    }
    await next();
  };
}

/** The CSRF token of a state-changing request: header X-CSRF-Token or form field _csrf. */
async function csrfOf(c: Context<AppEnv>): Promise<string | undefined> {
  const header = c.req.header("x-csrf-token");
  if (header) return header;
  const type = c.req.header("content-type") ?? "";
  if (type.includes("application/x-www-form-urlencoded") || type.includes("multipart/form-data")) {
    try {
      const form = await c.req.raw.clone().formData();
      const v = form.get("_csrf");
      return typeof v === "string" ? v : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The signed-in administrator, with CSRF on state changes and the forced password change (shared with the network API's guard). */
export async function checkSession(c: Context<AppEnv>, allowDuringPasswordChange: boolean) {
  const admin = c.get("admin");
  if (!admin) throw new AppError("unauthenticated", "sign in first");
  if (!SAFE_METHODS.has(c.req.method)) {
    const token = await csrfOf(c);
    if (!token || token !== admin.csrfToken) throw new AppError("csrf_failed", "the CSRF token is missing or wrong; reload the page and try again");
  }
  if (admin.mustChangePassword && !allowDuringPasswordChange) {
    throw new AppError("password_change_required", "change the one-time password before doing anything else");
  }
  return admin;
}

/**
 * Requires a signed-in administrator (session only: self-service routes such
 * as password change and two-factor enrollment are not for API tokens).
 * Until the one-time password is changed, only routes marked
 * allowDuringPasswordChange work.
 */
export function requireAdmin(opts: { allowDuringPasswordChange?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get("token")) throw new AppError("forbidden", "this endpoint needs a console session, not an API token");
    await checkSession(c, opts.allowDuringPasswordChange ?? false);
    await next();
  };
}

/**
 * Requires `permission`, held through the role of the signed-in super
 * administrator or of the API token. Tokens are not cookies, so they need no
 * CSRF token; sessions need it on every state change.
 */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = c.get("token");
    let held: Set<string>;
    if (token === "invalid") throw new AppError("unauthenticated", "the API token is unknown or revoked");
    if (token) {
      if (token.networkId !== null) throw new AppError("forbidden", "a network-scoped token cannot use deployment-wide endpoints");
      held = token.permissions;
    } else {
      held = (await checkSession(c, false)).permissions;
    }
    if (!held.has(permission)) throw new AppError("forbidden", `this needs the ${permission} permission`, { permission });
    await next();
  };
}

/** Spread into a createRoute spec: the permission check, documented as x-permission. */
export function guarded(permission: Permission) {
  return {
    middleware: [requirePermission(permission)],
    "x-permission": permission,
    security: [{ session: [] }, { bearer: [] }] as Record<string, string[]>[],
  };
}

/** Who is acting, for the audit log. */
export function actorOf(c: Context<AppEnv>): Actor {
  const ip = clientIp(c);
  const token = c.get("token");
  if (token && token !== "invalid") return { type: "token", id: token.tokenId, name: `token:${token.label}`, ip, permissions: token.permissions };
  const admin = c.get("admin");
  if (admin) return { type: "admin", id: admin.id, name: admin.username, ip, permissions: admin.permissions };
  throw new AppError("unauthenticated", "sign in first");
}

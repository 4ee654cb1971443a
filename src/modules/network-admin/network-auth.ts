// How network-scoped requests are authorised. The rule is deliberately simple:
// a network administrator (kind "network") assigned to the network may do
// everything in that network and nothing outside it; roles do not apply to
// them. A network-scoped API token acts the same way for its one network.
// Super administrators and deployment-wide tokens are refused here: they
// provision networks through /api/v1/networks, not manage their users.
import type { Context, MiddlewareHandler } from "hono";
import type { AppContext } from "../../app/context.ts";
import { checkSession } from "../../http/auth.ts";
import { AppError } from "../../http/errors.ts";
import type { AppEnv } from "../../http/types.ts";
import { isNetworkAdmin } from "./network-admin.service.ts";

export function requireNetworkAdmin(ctx: AppContext): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const networkId = c.req.param("networkId");
    if (!networkId) throw new AppError("not_found", "no network in the path");
    const token = c.get("token");
    if (token === "invalid") throw new AppError("unauthenticated", "the API token is unknown or revoked");
    if (token) {
      if (token.networkId === null) throw new AppError("forbidden", "a deployment-wide token cannot manage a network's users; create a token in the network's console");
      if (token.networkId !== networkId) throw new AppError("forbidden", "this token belongs to another network");
    } else {
      const admin = await checkSession(c, false);
      if (admin.kind !== "network") throw new AppError("forbidden", "this endpoint is for network administrators");
      if (!isNetworkAdmin(ctx, admin.id, networkId)) throw new AppError("forbidden", "you do not administer this network");
    }
    await next();
  };
}

/** Spread into a createRoute spec: the network check, documented as x-network-scope. */
export function networkGuarded(ctx: AppContext) {
  return {
    middleware: [requireNetworkAdmin(ctx)],
    "x-network-scope": true,
    security: [{ session: [] }, { bearer: [] }] as Record<string, string[]>[],
  };
}

export const networkIdOf = (c: Context<AppEnv>) => c.req.param("networkId")!;

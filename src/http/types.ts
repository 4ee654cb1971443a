import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AdminPrincipal } from "../modules/admins/admins.service.ts";
import type { TokenPrincipal } from "../modules/access/tokens.service.ts";

export type AppEnv = {
  Variables: {
    requestId: string;
    admin?: AdminPrincipal;
    /** Set when the request carried `Authorization`; "invalid" when the token is unknown or revoked. */
    token?: TokenPrincipal | "invalid";
  };
};

export type App = OpenAPIHono<AppEnv>;

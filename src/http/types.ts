import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AdminPrincipal } from "../modules/admins/admins.service.ts";

export type AppEnv = {
  Variables: {
    requestId: string;
    admin?: AdminPrincipal;
  };
};

export type App = OpenAPIHono<AppEnv>;

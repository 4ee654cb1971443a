// REST endpoints for roles and deployment-wide API access tokens.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { actorOf, guarded } from "../../http/auth.ts";
import { errorResponses, json, pageQuery } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { allPermissions, permissions } from "./permissions.ts";
import { createRole, deleteRole, getRole, listRoles, updateRole } from "./roles.service.ts";
import { createToken, listTokens, revokeToken, type ApiTokenInfo } from "./tokens.service.ts";

const RoleSchema = z.object({ id: z.string(), name: z.string(), builtIn: z.boolean(), permissions: z.array(z.string()) }).openapi("Role");
const RoleInput = z
  .object({ name: z.string().min(1).max(80), permissions: z.array(z.string().max(60)).max(100).describe(`any of: ${allPermissions.join(", ")}`) })
  .strict()
  .openapi("RoleInput");
const TokenSchema = z
  .object({ id: z.string(), label: z.string(), prefix: z.string(), roleId: z.string(), roleName: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() })
  .openapi("ApiToken");
const IdParam = z.object({ id: z.string().min(1).max(100) });

const tokenView = (t: ApiTokenInfo) => ({ ...t, createdAt: t.createdAt.toISOString(), lastUsedAt: t.lastUsedAt?.toISOString() ?? null });

export function registerAccessRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/permissions",
      tags: ["Roles"],
      summary: "Every permission a role can hold",
      ...guarded("roles.read"),
      responses: { 200: { description: "permissions", ...json(z.object({ items: z.array(z.object({ name: z.string(), description: z.string() })) })) }, ...errorResponses(401, 403) },
    }),
    (c) => c.json({ items: Object.entries(permissions).map(([name, description]) => ({ name, description })) }, 200),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/roles",
      tags: ["Roles"],
      summary: "List roles",
      ...guarded("roles.read"),
      request: { query: pageQuery },
      responses: { 200: { description: "roles", ...json(z.object({ items: z.array(RoleSchema), total: z.number() })) }, ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      // Roles are few; the page is cut from the whole list.
      const { limit, offset } = c.req.valid("query");
      const all = listRoles(ctx);
      return c.json({ items: all.slice(offset, offset + limit), total: all.length }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/roles",
      tags: ["Roles"],
      summary: "Create a role",
      ...guarded("roles.write"),
      request: { body: { required: true, ...json(RoleInput) } },
      responses: { 201: { description: "created", ...json(RoleSchema) }, ...errorResponses(400, 401, 403, 409) },
    }),
    async (c) => c.json(await createRole(ctx, actorOf(c), c.req.valid("json")), 201),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/roles/{id}",
      tags: ["Roles"],
      summary: "One role",
      ...guarded("roles.read"),
      request: { params: IdParam },
      responses: { 200: { description: "the role", ...json(RoleSchema) }, ...errorResponses(401, 403, 404) },
    }),
    (c) => c.json(getRole(ctx, c.req.valid("param").id), 200),
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/api/v1/roles/{id}",
      tags: ["Roles"],
      summary: "Change a role's name and permissions",
      description: "The built-in Super administrator role cannot be changed.",
      ...guarded("roles.write"),
      request: { params: IdParam, body: { required: true, ...json(RoleInput) } },
      responses: { 200: { description: "changed", ...json(RoleSchema) }, ...errorResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => c.json(await updateRole(ctx, actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200),
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/v1/roles/{id}",
      tags: ["Roles"],
      summary: "Delete a role no one holds",
      ...guarded("roles.write"),
      request: { params: IdParam },
      responses: { 204: { description: "deleted" }, ...errorResponses(401, 403, 404, 409) },
    }),
    async (c) => {
      await deleteRole(ctx, actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/tokens",
      tags: ["API tokens"],
      summary: "List deployment-wide API tokens with their last use",
      ...guarded("tokens.read"),
      request: { query: pageQuery },
      responses: { 200: { description: "tokens (never their secrets)", ...json(z.object({ items: z.array(TokenSchema), total: z.number() })) }, ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const r = listTokens(ctx, c.req.valid("query"));
      return c.json({ items: r.items.map(tokenView), total: r.total }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/tokens",
      tags: ["API tokens"],
      summary: "Create an API token",
      description: "The token is in this response only; Outpost keeps just its SHA-256. Send it as `Authorization: Bearer <token>`.",
      ...guarded("tokens.write"),
      request: { body: { required: true, ...json(z.object({ label: z.string().min(1).max(100), roleId: z.string().max(100).optional() }).strict()) } },
      responses: { 201: { description: "created", ...json(z.object({ token: z.string(), info: TokenSchema })) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const r = await createToken(ctx, actorOf(c), c.req.valid("json"));
      return c.json({ token: r.token, info: tokenView(r.info) }, 201);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/v1/tokens/{id}",
      tags: ["API tokens"],
      summary: "Revoke an API token",
      ...guarded("tokens.write"),
      request: { params: IdParam },
      responses: { 204: { description: "revoked" }, ...errorResponses(401, 403, 404) },
    }),
    async (c) => {
      await revokeToken(ctx, actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
}

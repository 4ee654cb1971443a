// REST endpoints for administrator provisioning and lockouts (super administrator).
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { actorOf, guarded } from "../../http/auth.ts";
import { errorResponses, json, pageQuery } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { createAdmin, deleteAdmin, getAdmin, listAdmins, listLockouts, setAdminPassword, setAdminRole, unlockAdmin, type AdminInfo } from "./admins.service.ts";

export const AdminSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    name: z.string(),
    kind: z.enum(["super", "network"]),
    roleId: z.string().nullable(),
    roleName: z.string().nullable(),
    networks: z.array(z.object({ id: z.string(), name: z.string() })),
    totpEnabled: z.boolean(),
    failedSignIns: z.number(),
    lockedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("Administrator");

export const adminView = (a: AdminInfo) => ({ ...a, lockedAt: a.lockedAt?.toISOString() ?? null, createdAt: a.createdAt.toISOString() });

const CreateAdmin = z
  .object({
    name: z.string().min(1).max(100),
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(256),
    kind: z.enum(["super", "network"]).default("network"),
    roleId: z.string().max(100).optional().describe("super administrators: their role (default: Super administrator)"),
    networkId: z.string().max(100).optional().describe("network administrators: an existing network"),
    newNetworkName: z.string().max(100).optional().describe("network administrators: or the name of a new network to create"),
  })
  .strict()
  .openapi("CreateAdministrator");

const IdParam = z.object({ id: z.string().min(1).max(100) });

export function registerAdminRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/admins",
      tags: ["Administrators"],
      summary: "List administrators",
      ...guarded("admins.read"),
      request: { query: pageQuery },
      responses: { 200: { description: "a page of administrators", ...json(z.object({ items: z.array(AdminSchema), total: z.number() })) }, ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const r = listAdmins(ctx, c.req.valid("query"));
      return c.json({ items: r.items.map(adminView), total: r.total }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/admins",
      tags: ["Administrators"],
      summary: "Create an administrator",
      description: "A network administrator joins an existing network or a new one created with them; a super administrator gets a role. The new administrator must change the password at first sign-in.",
      ...guarded("admins.write"),
      request: { body: { required: true, ...json(CreateAdmin) } },
      responses: { 201: { description: "created", ...json(AdminSchema) }, ...errorResponses(400, 401, 403, 409) },
    }),
    async (c) => c.json(adminView(await createAdmin(ctx, actorOf(c), c.req.valid("json"))), 201),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/admins/{id}",
      tags: ["Administrators"],
      summary: "One administrator",
      ...guarded("admins.read"),
      request: { params: IdParam },
      responses: { 200: { description: "the administrator", ...json(AdminSchema) }, ...errorResponses(401, 403, 404) },
    }),
    (c) => c.json(adminView(getAdmin(ctx, c.req.valid("param").id)), 200),
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/v1/admins/{id}",
      tags: ["Administrators"],
      summary: "Delete an administrator",
      description: "Ends their session. Nobody can delete themselves or the last holder of the Super administrator role.",
      ...guarded("admins.write"),
      request: { params: IdParam },
      responses: { 204: { description: "deleted" }, ...errorResponses(401, 403, 404, 409) },
    }),
    async (c) => {
      await deleteAdmin(ctx, actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/api/v1/admins/{id}/password",
      tags: ["Administrators"],
      summary: "Set an administrator's password",
      description: "Ends their session; they must change it at next sign-in.",
      ...guarded("admins.write"),
      request: { params: IdParam, body: { required: true, ...json(z.object({ password: z.string().min(1).max(256) }).strict()) } },
      responses: { 204: { description: "set" }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      await setAdminPassword(ctx, actorOf(c), c.req.valid("param").id, c.req.valid("json").password);
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/api/v1/admins/{id}/role",
      tags: ["Administrators"],
      summary: "Give a super administrator a role",
      ...guarded("admins.write"),
      request: { params: IdParam, body: { required: true, ...json(z.object({ roleId: z.string().min(1).max(100) }).strict()) } },
      responses: { 200: { description: "changed", ...json(AdminSchema) }, ...errorResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => c.json(adminView(await setAdminRole(ctx, actorOf(c), c.req.valid("param").id, c.req.valid("json").roleId)), 200),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/lockouts",
      tags: ["Administrators"],
      summary: "Locked administrators and failed sign-in counts",
      ...guarded("lockout.read"),
      request: { query: pageQuery },
      responses: { 200: { description: "administrators with failed sign-ins", ...json(z.object({ items: z.array(AdminSchema), total: z.number() })) }, ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const r = listLockouts(ctx, c.req.valid("query"));
      return c.json({ items: r.items.map(adminView), total: r.total }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/admins/{id}/unlock",
      tags: ["Administrators"],
      summary: "Unlock an administrator and reset the failed sign-in count",
      ...guarded("lockout.write"),
      request: { params: IdParam },
      responses: { 204: { description: "unlocked" }, ...errorResponses(401, 403, 404) },
    }),
    async (c) => {
      await unlockAdmin(ctx, actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
}

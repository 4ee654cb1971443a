// REST endpoints for network provisioning (super administrator).
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { actorOf, guarded } from "../../http/auth.ts";
import { errorResponses, json, pageQuery } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { createNetwork, deleteNetwork, listNetworkSummaries, networkSummary, renameNetwork, setNetworkAdministrators, type NetworkSummary } from "./networks.service.ts";

const NetworkSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    federationDomain: z.string().nullable(),
    administrators: z.array(z.object({ id: z.string(), username: z.string(), name: z.string() })),
    userCount: z.number(),
    securityGroupCount: z.number(),
    createdAt: z.string(),
  })
  .openapi("Network");

const view = (n: NetworkSummary) => ({
  id: n.id,
  name: n.name,
  federationDomain: n.federationDomain,
  administrators: n.administrators,
  userCount: n.userCount,
  securityGroupCount: n.securityGroupCount,
  createdAt: n.createdAt.toISOString(),
});

const IdParam = z.object({ id: z.string().min(1).max(100) });
const CreateNetwork = z
  .object({
    name: z.string().min(1).max(100),
    federationDomain: z.string().max(253).nullable().optional(),
    adminIds: z.array(z.string().max(100)).max(100).optional().describe("network administrators to assign"),
  })
  .strict()
  .openapi("CreateNetwork");
const UpdateNetwork = z.object({ name: z.string().min(1).max(100), federationDomain: z.string().max(253).nullable().optional() }).strict().openapi("UpdateNetwork");

export function registerNetworkRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/networks",
      tags: ["Networks"],
      summary: "List networks",
      ...guarded("networks.read"),
      request: { query: pageQuery },
      responses: { 200: { description: "a page of networks", ...json(z.object({ items: z.array(NetworkSchema), total: z.number() })) }, ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const r = listNetworkSummaries(ctx, c.req.valid("query"));
      return c.json({ items: r.items.map(view), total: r.total }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/networks",
      tags: ["Networks"],
      summary: "Create a network",
      description: "Also creates its Default security group.",
      ...guarded("networks.write"),
      request: { body: { required: true, ...json(CreateNetwork) } },
      responses: { 201: { description: "created", ...json(NetworkSchema) }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      const n = await createNetwork(ctx, c.req.valid("json"), actorOf(c));
      return c.json(view(networkSummary(ctx, n.id)), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/networks/{id}",
      tags: ["Networks"],
      summary: "One network",
      ...guarded("networks.read"),
      request: { params: IdParam },
      responses: { 200: { description: "the network", ...json(NetworkSchema) }, ...errorResponses(401, 403, 404) },
    }),
    (c) => c.json(view(networkSummary(ctx, c.req.valid("param").id)), 200),
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/api/v1/networks/{id}",
      tags: ["Networks"],
      summary: "Rename a network or change its federation domain",
      ...guarded("networks.write"),
      request: { params: IdParam, body: { required: true, ...json(UpdateNetwork) } },
      responses: { 200: { description: "changed", ...json(NetworkSchema) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const id = c.req.valid("param").id;
      await renameNetwork(ctx, actorOf(c), id, c.req.valid("json"));
      return c.json(view(networkSummary(ctx, id)), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/api/v1/networks/{id}/administrators",
      tags: ["Networks"],
      summary: "Set a network's administrators",
      ...guarded("networks.write"),
      request: { params: IdParam, body: { required: true, ...json(z.object({ adminIds: z.array(z.string().max(100)).max(100) }).strict()) } },
      responses: { 200: { description: "set", ...json(NetworkSchema) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => c.json(view(await setNetworkAdministrators(ctx, actorOf(c), c.req.valid("param").id, c.req.valid("json").adminIds)), 200),
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/v1/networks/{id}",
      tags: ["Networks"],
      summary: "Delete a network",
      description: "Removes the network with all its users, security groups and administrator assignments (the administrators themselves remain). Cannot be undone.",
      ...guarded("networks.write"),
      request: { params: IdParam },
      responses: { 204: { description: "deleted" }, ...errorResponses(401, 403, 404) },
    }),
    async (c) => {
      await deleteNetwork(ctx, actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
}

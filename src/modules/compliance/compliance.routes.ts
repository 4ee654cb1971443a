// REST endpoints for data retention: administrators manage each network's compliance
// writer (the networks.read / networks.write permissions: it is part of provisioning a
// network); the compliance device itself claims its mark
// and reads delivery facts through the client API.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { actorOf, guarded } from "../../http/auth.ts";
import { errorResponses, json, pageQuery } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { bearerSecurity, deviceOf } from "../devices/device-auth.ts";
import {
  claimComplianceDevice,
  complianceWriterView,
  deleteComplianceWriter,
  deliveryFacts,
  listComplianceWriters,
  provisionComplianceWriter,
  restartComplianceWriter,
  setCompliancePaused,
} from "./compliance.service.ts";

const WriterSchema = z
  .object({
    networkId: z.string(),
    botUsername: z.string(),
    mode: z.enum(["local", "remote"]),
    deviceId: z.string().nullable(),
    paused: z.boolean(),
    options: z.object({ messagesDir: z.string(), attachmentsDir: z.string(), filePrefix: z.string(), maxFileBytes: z.number() }),
    state: z.string().describe("running, paused, failing (the writer cannot write), stopped, or remote"),
    lastMessageAt: z.string().nullable(),
    backlog: z.number().describe("messages waiting for the compliance device on the relay"),
    bytesWritten: z.number(),
    linesWritten: z.number(),
    rejected: z.number().describe("packets that could not become a line (logged)"),
    lastError: z.object({ code: z.string(), message: z.string(), at: z.string() }).nullable(),
    failingSince: z.string().nullable(),
    connected: z.boolean(),
    createdAt: z.string(),
  })
  .openapi("ComplianceWriter");

const NetworkParam = z.object({ id: z.string().min(1).max(100) });
const CreateWriter = z
  .object({
    username: z.string().min(2).max(128).optional().describe('the bot\'s username (must end in "bot"; default compliancebot)'),
    mode: z.enum(["local", "remote"]).optional().describe("local: this server runs it; remote: `outpost compliance run` on another host"),
    messagesDir: z.string().min(1).max(4096).optional(),
    attachmentsDir: z.string().min(1).max(4096).optional(),
    filePrefix: z.string().min(1).max(64).optional(),
    maxFileBytes: z.number().int().optional(),
  })
  .strict()
  .openapi("CreateComplianceWriter");

export function registerComplianceRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/compliance/writers",
      tags: ["Compliance"],
      summary: "List compliance writers (one per network at most)",
      ...guarded("networks.read"),
      request: { query: pageQuery },
      responses: { 200: { description: "a page of writers", ...json(z.object({ items: z.array(WriterSchema), total: z.number() })) }, ...errorResponses(400, 401, 403) },
    }),
    (c) => c.json(listComplianceWriters(ctx, c.req.valid("query")), 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/networks/{id}/compliance",
      tags: ["Compliance"],
      summary: "Create the network's compliance writer and its bot",
      description: "Creates the bot user with a generated password (returned once, never again). A local writer is registered, marked as the network's compliance device and started by this server; from then on every packet into the network must carry a key wrap for it.",
      ...guarded("networks.write"),
      request: { params: NetworkParam, body: { required: true, ...json(CreateWriter) } },
      responses: { 201: { description: "created", ...json(z.object({ writer: WriterSchema, username: z.string(), password: z.string() })) }, ...errorResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => c.json(await provisionComplianceWriter(ctx, actorOf(c), c.req.valid("param").id, c.req.valid("json")), 201),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/networks/{id}/compliance",
      tags: ["Compliance"],
      summary: "The network's compliance writer and its health",
      ...guarded("networks.read"),
      request: { params: NetworkParam },
      responses: { 200: { description: "the writer", ...json(WriterSchema) }, ...errorResponses(401, 403, 404) },
    }),
    (c) => c.json(complianceWriterView(ctx, c.req.valid("param").id), 200),
  );
  for (const [action, summary] of [
    ["pause", "Pause the writer (messages wait on the relay)"],
    ["start", "Start a paused writer"],
    ["restart", "Restart a local writer"],
  ] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/api/v1/networks/{id}/compliance/${action}`,
        tags: ["Compliance"],
        summary,
        ...guarded("networks.write"),
        request: { params: NetworkParam },
        responses: { 200: { description: "done", ...json(WriterSchema) }, ...errorResponses(401, 403, 404, 409) },
      }),
      async (c) => {
        const id = c.req.valid("param").id;
        const actor = actorOf(c);
        const view = action === "restart" ? await restartComplianceWriter(ctx, actor, id) : await setCompliancePaused(ctx, actor, id, action === "pause");
        return c.json(view, 200);
      },
    );
  }
  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/v1/networks/{id}/compliance",
      tags: ["Compliance"],
      summary: "Delete the writer and its bot",
      description: "Clients stop including the compliance device and the relay stops requiring it. Files already written stay.",
      ...guarded("networks.write"),
      request: { params: NetworkParam },
      responses: { 204: { description: "deleted" }, ...errorResponses(401, 403, 404) },
    }),
    async (c) => {
      await deleteComplianceWriter(ctx, actorOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );

  // ---- the compliance device's own calls (device bearer)
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/client/v1/compliance/claim",
      tags: ["Client"],
      summary: "The compliance bot's device becomes the network's compliance device (remote writers)",
      security: bearerSecurity,
      responses: { 200: { description: "claimed", ...json(z.object({ deviceId: z.string() })) }, ...errorResponses(401, 403, 409) },
    }),
    async (c) => c.json(await claimComplianceDevice(ctx, deviceOf(ctx, c)), 200),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/client/v1/compliance/deliveries",
      tags: ["Client"],
      summary: "Receive time, expiration and sender facts of the compliance device's queued packets",
      security: bearerSecurity,
      request: { query: z.object({ fromSeq: z.coerce.number().int().min(0), limit: z.coerce.number().int().min(1).max(1000).default(256) }) },
      responses: {
        200: {
          description: "facts, oldest first",
          ...json(
            z.object({
              items: z.array(
                z.object({
                  seq: z.number(),
                  packetId: z.string(),
                  receivedAtMs: z.number(),
                  ttlSeconds: z.number(),
                  sender: z.object({ userId: z.string(), username: z.string(), type: z.enum(["normal", "guest"]), linkPreviews: z.boolean() }),
                  conversation: z.object({ id: z.string(), kind: z.enum(["direct", "group", "room"]), otherMember: z.string().nullable() }),
                }),
              ),
            }),
          ),
        },
        ...errorResponses(400, 401, 403),
      },
    }),
    (c) => {
      const q = c.req.valid("query");
      return c.json({ items: deliveryFacts(ctx, deviceOf(ctx, c), q.fromSeq, q.limit) }, 200);
    },
  );
}

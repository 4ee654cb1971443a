// Client API for conversations: direct messages, groups and rooms, their settings and members.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { errorResponses } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { bearerSecurity, deviceOf } from "../devices/device-auth.ts";
import { changeMembers, createConversation, deleteConversation, getConversation, leaveConversation, listConversations, openDirect, updateConversation } from "./conversations.service.ts";

const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });
const UserId = z.string().min(1).max(64);
const Seconds = z.number().int().min(0).max(365 * 86_400);
const Conversation = z
  .object({
    id: z.string(),
    kind: z.enum(["direct", "group", "room"]),
    title: z.string(),
    description: z.string(),
    ttl: z.number(),
    bor: z.number(),
    createdBy: z.string(),
    members: z.array(z.object({ userId: z.string(), role: z.enum(["member", "moderator"]) })),
  })
  .openapi("Conversation");
const IdParam = z.object({ id: z.string().regex(/^([0-9a-f]{64}|[SG][0-9a-f]{63})$/, "a conversation id") });
const base = { tags: ["Client"], security: bearerSecurity };

export function registerConversationRoutes(app: App, ctx: AppContext) {
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/api/client/v1/conversations/direct",
      summary: "Open (or get) the direct conversation with a user",
      request: { body: json(z.object({ userId: UserId }).strict()) },
      responses: { 200: { description: "the conversation", ...json(Conversation) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => c.json(await openDirect(ctx, deviceOf(ctx, c), c.req.valid("json").userId), 200),
  );
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/api/client/v1/conversations",
      summary: "Create a group or a room (rooms: up to 500 members, the creator is a moderator)",
      request: {
        body: json(
          z
            .object({
              kind: z.enum(["group", "room"]),
              title: z.string().max(200).optional(),
              description: z.string().max(2000).optional(),
              memberIds: z.array(UserId).max(1000),
              moderatorIds: z.array(UserId).max(1000).optional(),
              ttl: Seconds.optional(),
              bor: Seconds.optional(),
            })
            .strict(),
        ),
      },
      responses: { 201: { description: "created", ...json(Conversation) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { kind, ...input } = c.req.valid("json");
      return c.json(await createConversation(ctx, deviceOf(ctx, c), kind, input), 201);
    },
  );
  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/api/client/v1/conversations",
      summary: "Your conversations (paginated by id)",
      request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), after: z.string().max(64).optional() }) },
      responses: { 200: { description: "a page", ...json(z.object({ items: z.array(z.object({ id: z.string(), kind: z.enum(["direct", "group", "room"]), title: z.string() })), next: z.string().nullable() })) }, ...errorResponses(400, 401, 403) },
    }),
    (c) => c.json(listConversations(ctx, deviceOf(ctx, c), c.req.valid("query")), 200),
  );
  app.openapi(
    createRoute({ ...base, method: "get", path: "/api/client/v1/conversations/{id}", summary: "One of your conversations with its members", request: { params: IdParam }, responses: { 200: { description: "the conversation", ...json(Conversation) }, ...errorResponses(400, 401, 403, 404) } }),
    (c) => c.json(getConversation(ctx, deviceOf(ctx, c), c.req.valid("param").id), 200),
  );
  app.openapi(
    createRoute({
      ...base,
      method: "patch",
      path: "/api/client/v1/conversations/{id}",
      summary: "Change title, description, expiration or burn-on-read (rooms: moderators only; expiration clamped to your security group's maximum)",
      request: { params: IdParam, body: json(z.object({ title: z.string().max(200).optional(), description: z.string().max(2000).optional(), ttl: Seconds.optional(), bor: Seconds.optional() }).strict()) },
      responses: { 200: { description: "changed", ...json(Conversation) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => c.json(await updateConversation(ctx, deviceOf(ctx, c), c.req.valid("param").id, c.req.valid("json")), 200),
  );
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/api/client/v1/conversations/{id}/members",
      summary: "Add or remove members, promote moderators (rooms: moderators only)",
      request: { params: IdParam, body: json(z.object({ add: z.array(UserId).max(500).optional(), remove: z.array(UserId).max(500).optional(), moderators: z.array(UserId).max(500).optional() }).strict()) },
      responses: { 200: { description: "changed", ...json(Conversation) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => c.json(await changeMembers(ctx, deviceOf(ctx, c), c.req.valid("param").id, c.req.valid("json")), 200),
  );
  app.openapi(
    createRoute({ ...base, method: "post", path: "/api/client/v1/conversations/{id}/leave", summary: "Leave a group or room", request: { params: IdParam }, responses: { 204: { description: "left" }, ...errorResponses(400, 401, 403, 404) } }),
    async (c) => {
      await leaveConversation(ctx, deviceOf(ctx, c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({ ...base, method: "delete", path: "/api/client/v1/conversations/{id}", summary: "Delete a room (moderators only)", request: { params: IdParam }, responses: { 204: { description: "deleted" }, ...errorResponses(400, 401, 403, 404) } }),
    async (c) => {
      await deleteConversation(ctx, deviceOf(ctx, c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
}

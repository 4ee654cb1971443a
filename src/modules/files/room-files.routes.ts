// Client API for a room's Files area (network switch fileManagement): members list, moderators change.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { errorResponses } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { bearerSecurity, deviceOf } from "../devices/device-auth.ts";
import { addRoomFile, createFolder, deleteRoomEntry, listRoomFiles, lookupRoomEntries, updateRoomEntry } from "./room-files.service.ts";
import { allowRoomKeyDelivery } from "./room-key-audience.ts";

const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });
const base = { tags: ["Client files"], security: bearerSecurity };
const RoomParam = z.object({ id: z.string().regex(/^S[0-9a-f]{63}$/, "a room id") });
const EntryParam = RoomParam.extend({ entryId: z.uuid() });
const EntryId = z.uuid();
const Entry = z
  .object({
    id: z.string(),
    parentId: z.string().nullable(),
    kind: z.enum(["folder", "file"]),
    name: z.string(),
    fileId: z.string().nullable(),
    size: z.number(),
    createdBy: z.string(),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .openapi("RoomFileEntry");
const Name = z.string().min(1).max(255);

export function registerRoomFileRoutes(app: App, ctx: AppContext) {
  allowRoomKeyDelivery(ctx);
  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/api/client/v1/rooms/{id}/files",
      summary: "List a folder of the room's Files area (root when parentId is absent; paginated by name)",
      request: { params: RoomParam, query: z.object({ parentId: EntryId.optional(), limit: z.coerce.number().int().min(1).max(500).default(100), after: z.string().max(255).optional() }) },
      responses: { 200: { description: "a page", ...json(z.object({ items: z.array(Entry), next: z.string().nullable() })) }, ...errorResponses(400, 401, 403, 404) },
    }),
    (c) => c.json(listRoomFiles(ctx, deviceOf(ctx, c), c.req.valid("param").id, c.req.valid("query")), 200),
  );
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/api/client/v1/rooms/{id}/files",
      summary: "Create a folder, or add a file (an upload for this room or a file from a message) — moderators only",
      request: {
        params: RoomParam,
        body: json(z.union([z.object({ kind: z.literal("folder"), name: Name, parentId: EntryId.optional() }).strict(), z.object({ kind: z.literal("file"), name: Name, fileId: z.string().regex(/^[0-9a-f]{32}$/, "a file id"), parentId: EntryId.optional() }).strict()])),
      },
      responses: { 201: { description: "created", ...json(Entry) }, ...errorResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => {
      const me = deviceOf(ctx, c);
      const roomId = c.req.valid("param").id;
      const body = c.req.valid("json");
      const created = body.kind === "folder" ? await createFolder(ctx, me, roomId, body) : await addRoomFile(ctx, me, roomId, body);
      return c.json(created, 201);
    },
  );
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/api/client/v1/rooms/{id}/files/lookup",
      summary: "The entries among these ids that exist in the room's Files area (members check file keys received from other members against it)",
      request: { params: RoomParam, body: json(z.object({ ids: z.array(EntryId).min(1).max(200) }).strict()) },
      responses: { 200: { description: "the entries found (unknown ids are left out)", ...json(z.object({ items: z.array(Entry) })) }, ...errorResponses(400, 401, 403, 404) },
    }),
    (c) => c.json(lookupRoomEntries(ctx, deviceOf(ctx, c), c.req.valid("param").id, c.req.valid("json").ids), 200),
  );
  app.openapi(
    createRoute({
      ...base,
      method: "patch",
      path: "/api/client/v1/rooms/{id}/files/{entryId}",
      summary: "Rename and/or move an entry (parentId null = root) — moderators only",
      request: { params: EntryParam, body: json(z.object({ name: Name.optional(), parentId: EntryId.nullable().optional() }).strict()) },
      responses: { 200: { description: "changed", ...json(Entry) }, ...errorResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => {
      const { id, entryId } = c.req.valid("param");
      return c.json(await updateRoomEntry(ctx, deviceOf(ctx, c), id, entryId, c.req.valid("json")), 200);
    },
  );
  app.openapi(
    createRoute({
      ...base,
      method: "delete",
      path: "/api/client/v1/rooms/{id}/files/{entryId}",
      summary: "Delete an entry (a folder with its contents) — moderators only",
      request: { params: EntryParam },
      responses: { 200: { description: "deleted", ...json(z.object({ deleted: z.number() })) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { id, entryId } = c.req.valid("param");
      return c.json(await deleteRoomEntry(ctx, deviceOf(ctx, c), id, entryId), 200);
    },
  );
}

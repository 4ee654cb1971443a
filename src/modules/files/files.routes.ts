// Client API for encrypted files: upload sessions, raw binary chunk PUT/GET (streamed, never
// JSON or base64), completion, message references, and rooms' Files areas.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { errorResponses } from "../../http/openapi.ts";
import { limitBody } from "../../http/middleware.ts";
import type { App } from "../../http/types.ts";
import { bearerSecurity, deviceOf } from "../devices/device-auth.ts";
import { addFileRef, chunkForDownload, completeUpload, createUpload, fileInfo, MAX_CHUNK_BODY, putChunk, uploadStatus } from "./files.service.ts";
import { registerRoomFileRoutes } from "./room-files.routes.ts";

const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });
const binary = { content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } };
const base = { tags: ["Client files"], security: bearerSecurity };
export const ConversationId = z.string().regex(/^([0-9a-f]{64}|[SG][0-9a-f]{63})$/, "a conversation id");
const FileParam = z.object({ id: z.string().regex(/^[0-9a-f]{32}$/, "a file id") });
const ChunkParam = FileParam.extend({ index: z.coerce.number().int().min(0).max(10_000_000) });
const Status = z
  .object({
    fileId: z.string(),
    state: z.enum(["uploading", "complete"]),
    conversationId: z.string(),
    size: z.number(),
    chunkSize: z.number(),
    chunkCount: z.number(),
    received: z.array(z.object({ index: z.number(), hash: z.string() })),
  })
  .openapi("FileUpload");

const CHUNK_PATH = /^\/api\/client\/v1\/files\/[0-9a-f]{32}\/chunks\/\d+$/;
/** Chunk uploads are raw bytes up to the chunk size, not JSON: the app's JSON body limit skips them. */
export function isChunkUpload(method: string, path: string): boolean {
  return method === "PUT" && CHUNK_PATH.test(path);
}

export function registerFileRoutes(app: App, ctx: AppContext) {
  app.use("/api/client/v1/files/:id/chunks/:index", limitBody(MAX_CHUNK_BODY));
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/api/client/v1/files",
      summary: "Start an upload: plaintext size, chunk size (encrypted chunks are 28 bytes larger) and the conversation it is for",
      request: { body: json(z.object({ conversationId: ConversationId, size: z.number().int().min(0).max(2 ** 50), chunkSize: z.number().int().min(1).max(2 ** 31) }).strict()) },
      responses: { 201: { description: "the upload session", ...json(Status) }, ...errorResponses(400, 401, 403, 404, 413) },
    }),
    async (c) => c.json(await createUpload(ctx, deviceOf(ctx, c), c.req.valid("json")), 201),
  );
  app.openapi(
    createRoute({ ...base, method: "get", path: "/api/client/v1/files/{id}/upload", summary: "Upload status: which chunks the server has (resume from here)", request: { params: FileParam }, responses: { 200: { description: "status", ...json(Status) }, ...errorResponses(400, 401, 403, 404) } }),
    (c) => c.json(uploadStatus(ctx, deviceOf(ctx, c), c.req.valid("param").id), 200),
  );
  app.openapi(
    createRoute({
      ...base,
      method: "put",
      path: "/api/client/v1/files/{id}/chunks/{index}",
      summary: "Upload encrypted chunk `index` as raw bytes with Content-Length (idempotent; repeat after a broken connection)",
      request: { params: ChunkParam },
      responses: { 200: { description: "stored", ...json(z.object({ index: z.number(), hash: z.string(), length: z.number() })) }, ...errorResponses(400, 401, 403, 404, 409, 413) },
    }),
    async (c) => {
      const { id, index } = c.req.valid("param");
      const me = deviceOf(ctx, c);
      const header = c.req.header("content-length");
      const length = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
      return c.json(await putChunk(ctx, me, id, index, c.req.raw.body, length), 200);
    },
  );
  app.openapi(
    createRoute({ ...base, method: "post", path: "/api/client/v1/files/{id}/complete", summary: "Finish an upload once every chunk is stored", request: { params: FileParam }, responses: { 200: { description: "complete", ...json(Status) }, ...errorResponses(400, 401, 403, 404, 409) } }),
    async (c) => c.json(await completeUpload(ctx, deviceOf(ctx, c), c.req.valid("param").id), 200),
  );
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/api/client/v1/files/{id}/refs",
      summary: "Declare the message (packet id) that carries this file's key; the file lives while such a message does",
      request: { params: FileParam, body: json(z.object({ conversationId: ConversationId, packetId: z.string().regex(/^[0-9a-f]{32}$/, "a packet id"), ttl: z.number().int().min(0).max(10 * 365 * 86_400) }).strict()) },
      responses: { 201: { description: "recorded", ...json(z.object({ fileId: z.string(), conversationId: z.string(), packetId: z.string(), expiresAt: z.number() })) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => c.json(await addFileRef(ctx, deviceOf(ctx, c), c.req.valid("param").id, c.req.valid("json")), 201),
  );
  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/api/client/v1/files/{id}",
      summary: "A file's size and chunking (members of a conversation it was sent in)",
      request: { params: FileParam },
      responses: { 200: { description: "the file", ...json(z.object({ fileId: z.string(), size: z.number(), chunkSize: z.number(), chunkCount: z.number(), encryptedSize: z.number() })) }, ...errorResponses(400, 401, 403, 404) },
    }),
    (c) => c.json(fileInfo(ctx, deviceOf(ctx, c), c.req.valid("param").id), 200),
  );
  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/api/client/v1/files/{id}/chunks/{index}",
      summary: "Download encrypted chunk `index` (streamed; fetch several at once for speed)",
      request: { params: ChunkParam },
      responses: { 200: { description: "the chunk's ciphertext", ...binary }, ...errorResponses(400, 401, 403, 404) },
    }),
    (c) => {
      const { id, index } = c.req.valid("param");
      const chunk = chunkForDownload(ctx, deviceOf(ctx, c), id, index);
      return new Response(Bun.file(chunk.path), { status: 200, headers: { "content-type": "application/octet-stream", "content-length": String(chunk.length), "cache-control": "no-store" } }) as never;
    },
  );
  registerRoomFileRoutes(app, ctx);
}

// Client API for registration, prekeys, device sync and the directory. Binary values
// (keys, certificates, prekeys, bundles) travel as base64url strings.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { fromBase64url, SUITE_IDS, toBase64url } from "../../crypto/index.ts";
import { AppError } from "../../http/errors.ts";
import { limitBody } from "../../http/middleware.ts";
import { errorResponses } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { bearerSecurity, deviceOf } from "./device-auth.ts";
import {
  claimPrekeys,
  clientPolicy,
  listDirectory,
  lookupUsers,
  prekeyCount,
  MAX_SYNC_HISTORY_BYTES,
  putSyncBundle,
  putSyncHistory,
  registerDevice,
  signIn,
  takeSyncBundle,
  takeSyncHistory,
  uploadPrekeys,
} from "./devices.service.ts";

const B64 = z.string().regex(/^[A-Za-z0-9_-]*$/, "base64url").max(8192);
const bytes = (s: string, field: string) => {
  try {
    return fromBase64url(s);
  } catch {
    throw new AppError("validation_failed", `${field}: not base64url`, [{ path: field, rule: "base64url", message: "not base64url" }]);
  }
};
const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });
const ok = <T extends z.ZodType>(schema: T, description = "ok") => ({ description, ...json(schema) });

const Policy = z
  .object({
    maxExpirationSeconds: z.number(),
    quickResponses: z.array(z.string()),
    locationSharing: z.boolean(),
    linkPreviews: z.boolean(),
    presence: z.boolean(),
    previewNotifications: z.boolean(),
    readReceipts: z.boolean(),
    complianceDeviceId: z.string().nullable(),
    attachments: z.boolean(),
    maxUploadBytes: z.number(),
    alwaysReauthenticate: z.boolean(),
    passwordChange: z.object({
      allowed: z.boolean(),
      rule: z.object({ minLength: z.number(), requireLower: z.boolean(), requireUpper: z.boolean(), requireDigit: z.boolean(), requireSymbol: z.boolean() }),
    }),
    deviceResetAfter: z.number(),
  })
  .openapi("ClientPolicy");
const RootKey = z.object({ suite: z.enum(SUITE_IDS), publicKey: B64 }).nullable();
const DirectoryUser = z
  .object({
    userId: z.string(),
    username: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    status: z.string(),
    rootKey: RootKey,
    devices: z.array(z.object({ deviceId: z.string(), certificate: B64 })),
  })
  .openapi("DirectoryUser");

const HISTORY_PATH = /^\/api\/client\/v1\/sync-bundles\/[^/]+\/history$/;
/** History archives are raw bytes with their own limit (16 MiB), not JSON: the app's JSON body limit skips them. */
export function isSyncHistoryUpload(method: string, path: string): boolean {
  return method === "PUT" && HISTORY_PATH.test(path);
}
const LookupParam = z.object({ lookupHash: z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex characters (the sync code's lookup hash)") });
const binary = { content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } };

export function registerDeviceRoutes(app: App, ctx: AppContext) {
  app.openAPIRegistry.registerComponent("securitySchemes", "deviceBearer", { type: "http", scheme: "bearer", description: "<deviceId>.<device secret> from registration" });

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/client/v1/sign-in",
      tags: ["Client"],
      summary: "Sign a client in with username and password (step 1 of registration)",
      request: { body: json(z.object({ networkId: z.string().min(1).max(64), username: z.string().min(1).max(128), password: z.string().min(1).max(1024) }).strict()) },
      responses: { 200: ok(z.object({ userId: z.string(), username: z.string(), ticket: z.string(), rootKey: RootKey })), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const r = await signIn(ctx, c.req.valid("json"));
      return c.json({ ...r, rootKey: r.rootKey ? { suite: r.rootKey.suite, publicKey: toBase64url(r.rootKey.publicKey) } : null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/client/v1/devices",
      tags: ["Client"],
      summary: "Register a device: root key (first device), root-signed certificate and signed prekeys (step 2)",
      request: {
        body: json(
          z
            .object({
              ticket: z.string().min(1).max(100),
              suite: z.enum(SUITE_IDS),
              rootPublicKey: B64.min(1),
              certificate: B64.min(1),
              prekeys: z.array(B64.min(1)).min(1).max(201),
              name: z.string().max(100).optional(),
            })
            .strict(),
        ),
      },
      responses: {
        201: ok(z.object({ deviceId: z.string(), userId: z.string(), networkId: z.string(), token: z.string(), policy: Policy }), "registered; token is shown once"),
        ...errorResponses(400, 401, 403, 409),
      },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const r = await registerDevice(ctx, {
        ticket: b.ticket,
        suite: b.suite,
        rootPublicKey: bytes(b.rootPublicKey, "rootPublicKey"),
        certificate: bytes(b.certificate, "certificate"),
        prekeys: b.prekeys.map((p, i) => bytes(p, `prekeys.${i}`)),
        name: b.name,
      });
      return c.json(r, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/client/v1/me",
      tags: ["Client"],
      security: bearerSecurity,
      summary: "This device, its user, the policy it must honour and its prekey pool",
      responses: { 200: ok(z.object({ userId: z.string(), deviceId: z.string(), networkId: z.string(), policy: Policy, prekeys: z.object({ oneTime: z.number(), lastResort: z.number() }) })), ...errorResponses(401, 403) },
    }),
    (c) => {
      const me = deviceOf(ctx, c);
      return c.json({ userId: me.userId, deviceId: me.deviceId, networkId: me.networkId, policy: clientPolicy(ctx, me), prekeys: prekeyCount(ctx, me.deviceId) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/client/v1/prekeys",
      tags: ["Client"],
      security: bearerSecurity,
      summary: "Upload more signed prekeys (refill) or a rotated last-resort key",
      request: { body: json(z.object({ prekeys: z.array(B64.min(1)).min(1).max(201) }).strict()) },
      responses: { 200: ok(z.object({ oneTime: z.number(), lastResort: z.number() })), ...errorResponses(400, 401, 403, 409) },
    }),
    async (c) => {
      const me = deviceOf(ctx, c);
      const list = c.req.valid("json").prekeys.map((p, i) => bytes(p, `prekeys.${i}`));
      return c.json(await uploadPrekeys(ctx, me, list), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/client/v1/prekeys/claim",
      tags: ["Client"],
      security: bearerSecurity,
      summary: "Claim prekeys of other devices (one-time keys are handed out once; last-resort when none are left)",
      request: { body: json(z.object({ devices: z.array(z.object({ deviceId: z.string().min(1).max(64), count: z.number().int().min(1).max(100).default(1) }).strict()).min(1).max(1000) }).strict()) },
      responses: { 200: ok(z.object({ devices: z.array(z.object({ deviceId: z.string(), prekeys: z.array(B64) })) })), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const me = deviceOf(ctx, c);
      const r = await claimPrekeys(ctx, me, c.req.valid("json").devices);
      return c.json({ devices: r.map((d) => ({ deviceId: d.deviceId, prekeys: d.prekeys.map(toBase64url) })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/client/v1/users/lookup",
      tags: ["Client"],
      security: bearerSecurity,
      summary: "Users of your network with their root keys and root-signed device certificates",
      request: {
        body: json(
          z
            .object({ userIds: z.array(z.string().min(1).max(64)).max(1000).optional(), usernames: z.array(z.string().min(1).max(128)).max(1000).optional() })
            .strict()
            .refine((b) => (b.userIds?.length ?? 0) + (b.usernames?.length ?? 0) > 0, { message: "give userIds or usernames" }),
        ),
      },
      responses: { 200: ok(z.object({ users: z.array(DirectoryUser) })), ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const me = deviceOf(ctx, c);
      const found = lookupUsers(ctx, me.networkId, c.req.valid("json"));
      return c.json(
        {
          users: found.map((u) => ({
            ...u,
            rootKey: u.rootKey ? { suite: u.rootKey.suite, publicKey: toBase64url(u.rootKey.publicKey) } : null,
            devices: u.devices.map((d) => ({ deviceId: d.deviceId, certificate: toBase64url(d.certificate) })),
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/client/v1/users",
      tags: ["Client"],
      security: bearerSecurity,
      summary: "Search the directory of your network (paginated by username)",
      request: { query: z.object({ query: z.string().max(128).optional(), limit: z.coerce.number().int().min(1).max(200).default(50), after: z.string().max(128).optional() }) },
      responses: { 200: ok(z.object({ items: z.array(z.object({ userId: z.string(), username: z.string(), firstName: z.string(), lastName: z.string() })), next: z.string().nullable() })), ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const me = deviceOf(ctx, c);
      return c.json(listDirectory(ctx, me.networkId, c.req.valid("query")), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/client/v1/sync-bundles",
      tags: ["Client"],
      security: bearerSecurity,
      summary: "Leave the root key, encrypted under a sync code, for a new device of this user (10 minutes, taken once)",
      request: { body: json(z.object({ lookupHash: z.string().regex(/^[0-9a-f]{64}$/), bundle: B64.min(1) }).strict()) },
      responses: { 201: ok(z.object({ expiresAt: z.number() })), ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      const me = deviceOf(ctx, c);
      const b = c.req.valid("json");
      return c.json(await putSyncBundle(ctx, me, b.lookupHash, bytes(b.bundle, "bundle")), 201);
    },
  );

  app.use("/api/client/v1/sync-bundles/:lookupHash/history", (c, next) => (c.req.method === "PUT" ? limitBody(MAX_SYNC_HISTORY_BYTES)(c, next) : next()));
  app.openapi(
    createRoute({
      method: "put",
      path: "/api/client/v1/sync-bundles/{lookupHash}/history",
      tags: ["Client"],
      security: bearerSecurity,
      summary: "Leave this device's message history, encrypted under a sync code, for the user's new device (raw bytes, at most 16 MiB; 10 minutes, taken once; one per user)",
      request: { params: LookupParam, body: { description: "the sealed archive", required: true, ...binary } },
      responses: { 201: ok(z.object({ expiresAt: z.number(), size: z.number() })), ...errorResponses(400, 401, 403, 409, 413) },
    }),
    async (c) => {
      const me = deviceOf(ctx, c);
      const archive = new Uint8Array(await c.req.arrayBuffer());
      return c.json(await putSyncHistory(ctx, me, c.req.valid("param").lookupHash, archive), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/client/v1/sync-bundles/{lookupHash}/history/take",
      tags: ["Client"],
      security: bearerSecurity,
      summary: "The user's new device takes the history archive left under its sync code (once)",
      request: { params: LookupParam },
      responses: { 200: { description: "the archive's ciphertext", ...binary }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const me = deviceOf(ctx, c);
      const archive = await takeSyncHistory(ctx, me, c.req.valid("param").lookupHash);
      return new Response(archive as Uint8Array<ArrayBuffer>, { status: 200, headers: { "content-type": "application/octet-stream", "content-length": String(archive.length), "cache-control": "no-store" } }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/client/v1/sync-bundles/take",
      tags: ["Client"],
      summary: "A new device (signed in: ticket) takes the root-key bundle its sync code points to",
      request: { body: json(z.object({ ticket: z.string().min(1).max(100), lookupHash: z.string().regex(/^[0-9a-f]{64}$/) }).strict()) },
      responses: { 200: ok(z.object({ bundle: B64 })), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const b = c.req.valid("json");
      return c.json({ bundle: toBase64url(await takeSyncBundle(ctx, b.ticket, b.lookupHash)) }, 200);
    },
  );
}

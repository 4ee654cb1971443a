// REST endpoints of the network administrator (/api/v1/networks/{networkId}/...):
// every one is network-scoped (x-network-scope) and calls one service, the same
// the network console calls. Self-service endpoints (/api/v1/me/...) list the
// caller's networks and answer invitations.
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.ts";
import { actorOf, requireAdmin } from "../../http/auth.ts";
import { AppError } from "../../http/errors.ts";
import { clientIp, limitBody } from "../../http/middleware.ts";
import { changeOwnName } from "../admins/admins.service.ts";
import { errorResponses, json, pageQuery } from "../../http/openapi.ts";
import type { App } from "../../http/types.ts";
import { userStatuses } from "../../db/schema/directory.ts";
import { eventLoggingLevels } from "../../db/schema/network-admin.ts";
import { getNetwork, networksOfAdmin, updateNetwork } from "../networks/networks.service.ts";
import {
  changeUserStatus, createUser, deleteUsers, directoryCounts, directoryCsv, directorySorts, getUser, listDirectory, resetUserDevices, updateUser, type DirectoryUser, type User,
} from "../users/users.service.ts";
import { BULK_TEMPLATE, bulkActions, previewBulk } from "../users/bulk.service.ts";
import { BULK_CSV_LIMIT, bulkJobReportCsv, bulkJobView, getBulkJob, readUsernames, startBulkJob } from "../users/bulk-jobs.service.ts";
import {
  createSecurityGroup, deleteSecurityGroup, listSecurityGroupSummaries, securityGroupSummary, updateSecurityGroup, type SecurityGroupSummary,
} from "../security-groups/security-groups.service.ts";
import { securityGroupSettingsSchema, settingEnforcement } from "../security-groups/settings.ts";
import {
  answerInvitation, applyEventLogging, blockGuest, createNetworkToken, createTag, deleteTag, getTag, inviteAdministrator, listGuests, listInvitationsOf, listNetworkInvitations, listNetworkTokens, listTags,
  networkOptionsOf, revokeNetworkToken, updateNetworkOptions, updateTag, type SecurityTag,
} from "./network-admin.service.ts";
import { networkGuarded, networkIdOf } from "./network-auth.ts";
import { createDefaultRoom, deleteDefaultRoom, listDefaultRooms, syncDefaultRooms } from "./default-rooms.service.ts";
import { configFileName, createClientConfig, downloadClientConfig, expireClientConfig, listClientConfigs, clientConfigDeeplink, type ClientConfigInfo } from "../client-config/client-config.service.ts";

const NET = "/api/v1/networks/{networkId}";
const Net = z.object({ networkId: z.string().min(1).max(100) });
const NetId = Net.extend({ id: z.string().min(1).max(100) });
const tags = ["Network administration"];
const scope = "\n\nFor network administrators of this network and the network's own API tokens.";

const UserSchema = z
  .object({
    id: z.string(), username: z.string(), firstName: z.string(), lastName: z.string(), status: z.enum(userStatuses), type: z.enum(["user", "webadmin", "bot"]),
    securityGroupId: z.string(), securityGroupName: z.string().optional(), deviceCount: z.number().optional(), createdAt: z.string(), updatedAt: z.string(),
  })
  .openapi("DirectoryUser");
const userView = (u: User | DirectoryUser) => ({ ...u, createdAt: u.createdAt.toISOString(), updatedAt: u.updatedAt.toISOString() });

const GroupSchema = z
  .object({ id: z.string(), name: z.string(), isDefault: z.boolean(), memberCount: z.number(), tagIds: z.array(z.string()), settings: securityGroupSettingsSchema })
  .openapi("SecurityGroup");
const groupView = (g: SecurityGroupSummary) => ({ id: g.id, name: g.name, isDefault: g.isDefault, memberCount: g.memberCount, tagIds: g.tagIds, settings: g.settings });

const TagSchema = z.object({ id: z.string(), name: z.string(), kind: z.enum(["network", "override"]), colour: z.string(), groupIds: z.array(z.string()) }).openapi("SecurityTag");
const TagInput = z.object({ name: z.string().min(1).max(50), kind: z.enum(["network", "override"]), colour: z.string().regex(/^#[0-9a-fA-F]{6}$/) }).strict();
const tagView = (t: SecurityTag) => t;

const ConfigSchema = z
  .object({ id: z.string(), name: z.string(), securityGroupId: z.string(), pinCertificates: z.boolean(), expiresAt: z.string(), createdAt: z.string(), landingUrl: z.string(), deeplink: z.string() })
  .openapi("ClientConfiguration");

const OptionsSchema = z.object({ fileManagement: z.boolean(), eventLogging: z.enum(eventLoggingLevels), callingTcpPort: z.number(), runningEventLogging: z.enum(eventLoggingLevels) }).openapi("NetworkOptions");
const ProfileSchema = z
  .object({
    id: z.string().describe("the network id other deployments use to federate with this network"), name: z.string(), federationDomain: z.string().nullable(), readReceipts: z.boolean(),
    counts: z.object({ users: z.object({ pending: z.number(), active: z.number(), suspended: z.number(), restricted: z.number() }), bots: z.number(), devices: z.number(), securityGroups: z.number() }),
  })
  .openapi("NetworkProfile");

const ListQuery = pageQuery.extend({
  search: z.string().max(128).optional(),
  status: z.enum(userStatuses).optional(),
  sort: z.enum(directorySorts).optional(),
  order: z.enum(["asc", "desc"]).optional(),
});
const CreateUserBody = z
  .object({
    username: z.string().min(1).max(128), password: z.string().min(1).max(1024), firstName: z.string().max(100).optional(), lastName: z.string().max(100).optional(),
    securityGroupId: z.string().max(100).optional(), type: z.enum(["user", "webadmin"]).optional(),
  })
  .strict();
const EditUserBody = z
  .object({
    firstName: z.string().max(100).optional(), lastName: z.string().max(100).optional(), securityGroupId: z.string().max(100).optional(), type: z.enum(["user", "webadmin"]).optional(),
    status: z.enum(["pending", "active", "restricted"]).optional().describe("suspension has its own endpoints"), password: z.string().min(1).max(1024).optional(),
  })
  .strict();

/** Optional fields the client left out, removed (the services use exact optional properties). */
function dropUndefined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function profile(ctx: AppContext, networkId: string) {
  const n = getNetwork(ctx, networkId);
  const counts = directoryCounts(ctx, networkId);
  return { id: n.id, name: n.name, federationDomain: n.federationDomain, readReceipts: n.readReceipts, counts: { users: counts.byStatus, bots: counts.bots, devices: counts.devices, securityGroups: listSecurityGroupSummaries(ctx, networkId).length } };
}

export function configView(ctx: AppContext, i: ClientConfigInfo, origin: string) {
  const host = ctx.config.publicUrl?.replace(/\/$/, "") ?? origin;
  return { id: i.id, name: i.name, securityGroupId: i.securityGroupId, pinCertificates: i.pinCertificates, expiresAt: i.expiresAt.toISOString(), createdAt: i.createdAt.toISOString(), landingUrl: `${host}/config/${i.publicId}`, deeplink: clientConfigDeeplink(ctx, i.publicId, origin) };
}

const options = (ctx: AppContext, networkId: string) => ({ ...networkOptionsOf(ctx, networkId), callingTcpPort: ctx.config.callingTcpPort, runningEventLogging: ctx.log.verbosity.level });

export function registerNetworkAdminRoutes(app: App, ctx: AppContext) {
  // A verbosity a network chose before a restart applies again from the start (the app is built after migrations).
  applyEventLogging(ctx);
  const g = networkGuarded(ctx);
  // After any successful change to a network, default rooms follow the directory (new users, group moves, suspensions).
  app.use("/api/v1/networks/:networkId/*", async (c, next) => {
    await next();
    if (c.req.method !== "GET" && c.res.status < 300 && c.get("token") !== "invalid") await syncDefaultRooms(ctx, c.req.param("networkId"));
  });
  const m = (summary: string) => ({ tags, summary, description: `${summary}.${scope}`, ...g });

  // ---- Self service: my networks and invitations.
  app.openapi(
    createRoute({
      method: "get", path: "/api/v1/me/networks", tags, summary: "The networks I administer and my pending invitations", middleware: [requireAdmin()],
      responses: { 200: { description: "networks", ...json(z.object({ networks: z.array(z.object({ id: z.string(), name: z.string() })), invitations: z.array(z.object({ id: z.string(), name: z.string() })) })) }, ...errorResponses(401, 403) },
    }),
    (c) => {
      const a = c.get("admin")!;
      const pick = (n: { id: string; name: string }) => ({ id: n.id, name: n.name });
      return c.json({ networks: networksOfAdmin(ctx, a.id).map(pick), invitations: listInvitationsOf(ctx, a.id).map(pick) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post", path: "/api/v1/me/invitations/{networkId}", tags, summary: "Accept or decline an invitation into a network", middleware: [requireAdmin()],
      request: { params: Net, body: { required: true, ...json(z.object({ accept: z.boolean() }).strict()) } },
      responses: { 204: { description: "answered" }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const a = c.get("admin")!;
      await answerInvitation(ctx, { ...actorOf(c), id: a.id }, c.req.valid("param").networkId, c.req.valid("json").accept);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "patch", path: "/api/v1/me", tags, summary: "Change my display name", middleware: [requireAdmin()],
      request: { body: { required: true, ...json(z.object({ name: z.string().max(100).describe("1 to 100 characters") }).strict()) } },
      responses: { 204: { description: "changed" }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      await changeOwnName(ctx, c.get("admin")!, c.req.valid("json").name, clientIp(c));
      return c.body(null, 204);
    },
  );

  // ---- Profile, dashboard counts, options.
  app.openapi(createRoute({ method: "get", path: `${NET}/profile`, ...m("Network profile and dashboard counts"), request: { params: Net }, responses: { 200: { description: "profile", ...json(ProfileSchema) }, ...errorResponses(401, 403, 404) } }), (c) =>
    c.json(profile(ctx, networkIdOf(c)), 200),
  );
  app.openapi(
    createRoute({ method: "patch", path: `${NET}/profile`, ...m("Change the network's name or read receipts"),
      request: { params: Net, body: { required: true, ...json(z.object({ name: z.string().min(1).max(100).optional(), readReceipts: z.boolean().optional() }).strict()) } },
      responses: { 200: { description: "changed", ...json(ProfileSchema) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      await updateNetwork(ctx, networkIdOf(c), c.req.valid("json"), actorOf(c));
      return c.json(profile(ctx, networkIdOf(c)), 200);
    },
  );
  app.openapi(createRoute({ method: "get", path: `${NET}/options`, ...m("File management, event-logging verbosity and the calling TCP port"), request: { params: Net }, responses: { 200: { description: "options", ...json(OptionsSchema) }, ...errorResponses(401, 403, 404) } }), (c) =>
    c.json(options(ctx, networkIdOf(c)), 200),
  );
  app.openapi(
    createRoute({ method: "patch", path: `${NET}/options`, ...m("Change file management or event-logging verbosity"),
      description: "Event-logging verbosity applies at once to the running server's logs (the server logs at the most detailed level any network chose)",
      request: { params: Net, body: { required: true, ...json(z.object({ fileManagement: z.boolean().optional(), eventLogging: z.enum(eventLoggingLevels).optional() }).strict()) } },
      responses: { 200: { description: "changed", ...json(OptionsSchema) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      await updateNetworkOptions(ctx, actorOf(c), networkIdOf(c), c.req.valid("json"));
      return c.json(options(ctx, networkIdOf(c)), 200);
    },
  );

  // ---- Team directory.
  app.openapi(
    createRoute({ method: "get", path: `${NET}/users`, ...m("List the team directory (search, sort, pagination)"), request: { params: Net, query: ListQuery }, responses: { 200: { description: "a page of users", ...json(z.object({ items: z.array(UserSchema), total: z.number() })) }, ...errorResponses(400, 401, 403) } }),
    (c) => {
      const res = listDirectory(ctx, networkIdOf(c), c.req.valid("query"));
      return c.json({ items: res.items.map(userView), total: res.total }, 200);
    },
  );
  app.openapi(
    createRoute({ method: "post", path: `${NET}/users`, ...m("Create a user"), request: { params: Net, body: { required: true, ...json(CreateUserBody) } }, responses: { 201: { description: "created", ...json(UserSchema) }, ...errorResponses(400, 401, 403, 409) } }),
    async (c) => {
      const body = c.req.valid("json");
      const u = await createUser(ctx, { ...dropUndefined(body), username: body.username, password: body.password, networkId: networkIdOf(c) }, actorOf(c));
      return c.json(userView(u), 201);
    },
  );
  app.openapi(createRoute({ method: "get", path: `${NET}/users.csv`, ...m("Download the directory as CSV"), request: { params: Net }, responses: { 200: { description: "CSV", content: { "text/csv": { schema: z.string() } } }, ...errorResponses(401, 403) } }), (c) => {
    return c.body(directoryCsv(ctx, networkIdOf(c)), 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="directory.csv"' });
  });
  app.openapi(createRoute({ method: "get", path: `${NET}/users/bulk/template`, ...m("The CSV template for bulk suspend and delete"), request: { params: Net }, responses: { 200: { description: "CSV", content: { "text/csv": { schema: z.string() } } }, ...errorResponses(401, 403) } }), (c) =>
    c.body(BULK_TEMPLATE, 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="bulk-template.csv"' }),
  );
  const BulkPreviewSchema = z.object({ rows: z.number(), matched: z.array(z.object({ row: z.number(), username: z.string(), id: z.string(), status: z.string() })), unmatched: z.array(z.object({ row: z.number(), username: z.string() })) });
  app.openapi(
    createRoute({ method: "post", path: `${NET}/users/bulk/preview`, ...m("Preview a bulk CSV: which rows match users of this network"),
      request: { params: Net, body: { required: true, ...json(z.object({ csv: z.string().min(1) }).strict()) } },
      responses: { 200: { description: "matched and unmatched rows", ...json(BulkPreviewSchema) }, ...errorResponses(400, 401, 403) },
    }),
    (c) => c.json(previewBulk(ctx, networkIdOf(c), (c.req.valid("json") as { csv: string }).csv), 200),
  );
  const JobSchema = z
    .object({
      id: z.string(), kind: z.enum(bulkActions), state: z.enum(["queued", "running", "done", "failed"]), total: z.number(), processed: z.number(), matched: z.number(), unmatched: z.number(), changed: z.number(),
      error: z.string().nullable(), createdBy: z.string(), createdAt: z.string(), startedAt: z.string().nullable(), finishedAt: z.string().nullable(),
    })
    .openapi("BulkJob");
  const JobId = Net.extend({ jobId: z.string().min(1).max(100) });
  app.openapi(
    createRoute({ method: "post", path: `${NET}/users/bulk`, ...m("Start a job suspending, reactivating or deleting the users a CSV names"),
      description: "The CSV travels in JSON (1 MiB body limit); for larger files POST the raw CSV to /users/bulk/jobs. Runs on matched rows only; deletion needs acknowledge: true. Answers 202 with the job; poll GET /users/bulk/jobs/{jobId}",
      request: { params: Net, body: { required: true, ...json(z.object({ action: z.enum(bulkActions), csv: z.string().min(1), acknowledge: z.boolean().optional() }).strict()) } },
      responses: { 202: { description: "job started", ...json(JobSchema) }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      const b = c.req.valid("json") as { action: (typeof bulkActions)[number]; csv: string; acknowledge?: boolean };
      if (b.action === "delete" && !b.acknowledge) await startBulkJob(ctx, actorOf(c), networkIdOf(c), "delete", [], false);
      const rows = await readUsernames(b.csv);
      return c.json(bulkJobView(await startBulkJob(ctx, actorOf(c), networkIdOf(c), b.action, rows, b.acknowledge ?? false)), 202);
    },
  );
  app.use(`/api/v1/networks/:networkId/users/bulk/jobs`, limitBody(BULK_CSV_LIMIT));
  app.openapi(
    createRoute({ method: "post", path: `${NET}/users/bulk/jobs`, ...m("Start a bulk job from a raw CSV upload (up to 16 MiB)"),
      description: "Body: the CSV itself (text/csv), parsed as a stream; one username per row, header \"username\" optional. Answers 202 with the job; poll GET /users/bulk/jobs/{jobId}",
      request: { params: Net, query: z.object({ action: z.enum(bulkActions), acknowledge: z.enum(["true", "false"]).optional() }), body: { required: true, content: { "text/csv": { schema: z.string() } } } },
      responses: { 202: { description: "job started", ...json(JobSchema) }, ...errorResponses(400, 401, 403, 413) },
    }),
    async (c) => {
      const q = c.req.valid("query") as { action: (typeof bulkActions)[number]; acknowledge?: "true" | "false" };
      const ack = q.acknowledge === "true";
      if (q.action === "delete" && !ack) await startBulkJob(ctx, actorOf(c), networkIdOf(c), "delete", [], false);
      const body = c.req.raw.body;
      if (!body) throw new AppError("validation_failed", "file: the request body must be the CSV file", [{ path: "file", rule: "required", message: "the CSV file is missing" }]);
      const rows = await readUsernames(body);
      return c.json(bulkJobView(await startBulkJob(ctx, actorOf(c), networkIdOf(c), q.action, rows, ack)), 202);
    },
  );
  app.openapi(createRoute({ method: "get", path: `${NET}/users/bulk/jobs/{jobId}`, ...m("Progress of a bulk job"), request: { params: JobId }, responses: { 200: { description: "the job", ...json(JobSchema) }, ...errorResponses(401, 403, 404) } }), (c) => {
    const p = c.req.valid("param") as z.infer<typeof JobId>;
    return c.json(bulkJobView(getBulkJob(ctx, p.networkId, p.jobId)), 200);
  });
  app.openapi(createRoute({ method: "get", path: `${NET}/users/bulk/jobs/{jobId}/report.csv`, ...m("The result report of a bulk job: the rows that matched nobody"), request: { params: JobId }, responses: { 200: { description: "CSV", content: { "text/csv": { schema: z.string() } } }, ...errorResponses(401, 403, 404) } }), (c) => {
    const p = c.req.valid("param") as z.infer<typeof JobId>;
    return c.body(bulkJobReportCsv(getBulkJob(ctx, p.networkId, p.jobId)), 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="bulk-report.csv"' });
  });
  app.openapi(createRoute({ method: "get", path: `${NET}/users/{id}`, ...m("One user"), request: { params: NetId }, responses: { 200: { description: "the user", ...json(UserSchema) }, ...errorResponses(401, 403, 404) } }), (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    return c.json(userView(getUser(ctx, p.networkId, p.id)), 200);
  });
  app.openapi(
    createRoute({ method: "patch", path: `${NET}/users/{id}`, ...m("Edit a user"), request: { params: NetId, body: { required: true, ...json(EditUserBody) } }, responses: { 200: { description: "changed", ...json(UserSchema) }, ...errorResponses(400, 401, 403, 404, 409) } }),
    async (c) => {
      const p = c.req.valid("param") as z.infer<typeof NetId>;
      const u = getUser(ctx, p.networkId, p.id);
      if (u.type === "bot") throw new AppError("not_found", `no user ${p.id} in this network (bots are under /bots)`);
      return c.json(userView(await updateUser(ctx, actorOf(c), p.networkId, p.id, c.req.valid("json"))), 200);
    },
  );
  for (const [action, suspend] of [["suspend", true], ["unsuspend", false]] as const) {
    app.openapi(
      createRoute({ method: "post", path: `${NET}/users/{id}/${action}`, ...m(suspend ? "Suspend a user (their devices are signed out at once)" : "Reactivate a suspended user"), request: { params: NetId }, responses: { 200: { description: "done", ...json(UserSchema) }, ...errorResponses(401, 403, 404) } }),
      async (c) => {
        const p = c.req.valid("param") as z.infer<typeof NetId>;
        getUser(ctx, p.networkId, p.id);
        await changeUserStatus(ctx, actorOf(c), p.networkId, [p.id], suspend);
        return c.json(userView(getUser(ctx, p.networkId, p.id)), 200);
      },
    );
  }
  app.openapi(createRoute({ method: "post", path: `${NET}/users/{id}/reset-devices`, ...m("Reset a user's devices (each must register again)"), request: { params: NetId }, responses: { 200: { description: "done", ...json(z.object({ reset: z.number() })) }, ...errorResponses(401, 403, 404) } }), async (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    return c.json(await resetUserDevices(ctx, actorOf(c), p.networkId, p.id), 200);
  });
  app.openapi(createRoute({ method: "delete", path: `${NET}/users/{id}`, ...m("Delete a user"), request: { params: NetId }, responses: { 204: { description: "deleted" }, ...errorResponses(401, 403, 404) } }), async (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    const u = getUser(ctx, p.networkId, p.id);
    if (u.type === "bot") throw new AppError("not_found", `no user ${p.id} in this network (bots are under /bots)`);
    await deleteUsers(ctx, actorOf(c), p.networkId, [p.id]);
    return c.body(null, 204);
  });

  // ---- Bots.
  app.openapi(createRoute({ method: "get", path: `${NET}/bots`, ...m("List bots"), request: { params: Net, query: pageQuery }, responses: { 200: { description: "bots", ...json(z.object({ items: z.array(UserSchema), total: z.number() })) }, ...errorResponses(401, 403) } }), (c) => {
    const q = c.req.valid("query") as { limit: number; offset: number };
    const res = listDirectory(ctx, networkIdOf(c), { ...q, type: "bot" });
    return c.json({ items: res.items.map(userView), total: res.total }, 200);
  });
  app.openapi(
    createRoute({ method: "post", path: `${NET}/bots`, ...m("Create a bot (its username must end in \"bot\")"),
      request: { params: Net, body: { required: true, ...json(z.object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024), firstName: z.string().max(100).optional(), securityGroupId: z.string().max(100).optional() }).strict()) } },
      responses: { 201: { description: "created", ...json(UserSchema) }, ...errorResponses(400, 401, 403, 409) },
    }),
    async (c) => {
      const body = c.req.valid("json");
      return c.json(userView(await createUser(ctx, { ...dropUndefined(body), username: body.username, password: body.password, networkId: networkIdOf(c), type: "bot" }, actorOf(c))), 201);
    },
  );
  const botOf = (networkId: string, id: string) => {
    const u = getUser(ctx, networkId, id);
    if (u.type !== "bot") throw new AppError("not_found", `no bot ${id} in this network`);
    return u;
  };
  app.openapi(
    createRoute({ method: "patch", path: `${NET}/bots/{id}`, ...m("Edit a bot while it is pending"),
      request: { params: NetId, body: { required: true, ...json(z.object({ firstName: z.string().max(100).optional(), securityGroupId: z.string().max(100).optional(), password: z.string().min(1).max(1024).optional() }).strict()) } },
      responses: { 200: { description: "changed", ...json(UserSchema) }, ...errorResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => {
      const p = c.req.valid("param") as z.infer<typeof NetId>;
      botOf(p.networkId, p.id);
      return c.json(userView(await updateUser(ctx, actorOf(c), p.networkId, p.id, c.req.valid("json"))), 200);
    },
  );
  app.openapi(createRoute({ method: "delete", path: `${NET}/bots/{id}`, ...m("Delete a bot"), request: { params: NetId }, responses: { 204: { description: "deleted" }, ...errorResponses(401, 403, 404) } }), async (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    botOf(p.networkId, p.id);
    await deleteUsers(ctx, actorOf(c), p.networkId, [p.id]);
    return c.body(null, 204);
  });

  // ---- Administrators of this network: invitations.
  const InviteSchema = z.object({ adminId: z.string(), username: z.string(), name: z.string().optional(), createdAt: z.string().optional() });
  app.openapi(createRoute({ method: "get", path: `${NET}/invitations`, ...m("Pending administrator invitations"), request: { params: Net }, responses: { 200: { description: "invitations", ...json(z.object({ items: z.array(InviteSchema) })) }, ...errorResponses(401, 403) } }), (c) =>
    c.json({ items: listNetworkInvitations(ctx, networkIdOf(c)).map((i) => ({ ...i, createdAt: i.createdAt.toISOString() })) }, 200),
  );
  app.openapi(
    createRoute({ method: "post", path: `${NET}/invitations`, ...m("Invite an existing network administrator into this network"),
      request: { params: Net, body: { required: true, ...json(z.object({ username: z.string().min(1).max(128) }).strict()) } },
      responses: { 201: { description: "invited", ...json(InviteSchema) }, ...errorResponses(400, 401, 403, 409) },
    }),
    async (c) => c.json(await inviteAdministrator(ctx, actorOf(c), networkIdOf(c), (c.req.valid("json") as { username: string }).username), 201),
  );

  // ---- Guests.
  const GuestSchema = z.object({ userId: z.string(), username: z.string(), networkId: z.string(), networkName: z.string(), blocked: z.boolean() }).openapi("Guest");
  app.openapi(createRoute({ method: "get", path: `${NET}/guests`, ...m("Guests: users of other networks who talked with this network, and blocked ones"), request: { params: Net, query: pageQuery }, responses: { 200: { description: "guests", ...json(z.object({ items: z.array(GuestSchema), total: z.number() })) }, ...errorResponses(401, 403) } }), (c) =>
    c.json(listGuests(ctx, networkIdOf(c), c.req.valid("query")), 200),
  );
  for (const [method, block] of [["put", true], ["delete", false]] as const) {
    app.openapi(createRoute({ method, path: `${NET}/guests/{id}/block`, ...m(block ? "Block a guest from reaching anyone in this network" : "Unblock a guest"), request: { params: NetId }, responses: { 204: { description: "done" }, ...errorResponses(401, 403, 404) } }), async (c) => {
      const p = c.req.valid("param") as z.infer<typeof NetId>;
      await blockGuest(ctx, actorOf(c), p.networkId, p.id, block);
      return c.body(null, 204);
    });
  }

  // ---- Security groups.
  app.openapi(createRoute({ method: "get", path: `${NET}/security-groups`, ...m("List security groups with member counts"), request: { params: Net }, responses: { 200: { description: "groups", ...json(z.object({ items: z.array(GroupSchema) })) }, ...errorResponses(401, 403) } }), (c) =>
    c.json({ items: listSecurityGroupSummaries(ctx, networkIdOf(c)).map(groupView) }, 200),
  );
  app.openapi(
    createRoute({ method: "get", path: `${NET}/security-groups/enforcement`, ...m("Which settings the server enforces and which clients honour"), request: { params: Net }, responses: { 200: { description: "dotted setting path → server | client", ...json(z.record(z.string(), z.enum(["server", "client"]))) }, ...errorResponses(401, 403) } }),
    (c) => c.json(settingEnforcement, 200),
  );
  const GroupInput = z.object({ name: z.string().min(1).max(100), settings: z.unknown().optional(), tagIds: z.array(z.string().max(100)).max(100).optional() }).strict();
  app.openapi(
    createRoute({ method: "post", path: `${NET}/security-groups`, ...m("Create a security group (at most 100 per network)"), request: { params: Net, body: { required: true, ...json(GroupInput) } }, responses: { 201: { description: "created", ...json(GroupSchema) }, ...errorResponses(400, 401, 403, 409) } }),
    async (c) => c.json(groupView(await createSecurityGroup(ctx, actorOf(c), networkIdOf(c), c.req.valid("json"))), 201),
  );
  app.openapi(createRoute({ method: "get", path: `${NET}/security-groups/{id}`, ...m("One security group"), request: { params: NetId }, responses: { 200: { description: "group", ...json(GroupSchema) }, ...errorResponses(401, 403, 404) } }), (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    return c.json(groupView(securityGroupSummary(ctx, p.networkId, p.id)), 200);
  });
  app.openapi(
    createRoute({ method: "patch", path: `${NET}/security-groups/{id}`, ...m("Rename a security group, replace its settings or tags"),
      description: "settings replaces the whole settings object; left-out settings take their defaults",
      request: { params: NetId, body: { required: true, ...json(GroupInput.partial()) } },
      responses: { 200: { description: "changed", ...json(GroupSchema) }, ...errorResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => {
      const p = c.req.valid("param") as z.infer<typeof NetId>;
      return c.json(groupView(await updateSecurityGroup(ctx, actorOf(c), p.networkId, p.id, c.req.valid("json"))), 200);
    },
  );
  app.openapi(createRoute({ method: "delete", path: `${NET}/security-groups/{id}`, ...m("Delete a security group (its members move to Default, which cannot be deleted)"), request: { params: NetId }, responses: { 200: { description: "deleted", ...json(z.object({ movedUsers: z.number() })) }, ...errorResponses(401, 403, 404, 409) } }), async (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    return c.json(await deleteSecurityGroup(ctx, actorOf(c), p.networkId, p.id), 200);
  });

  // ---- Security tags.
  app.openapi(createRoute({ method: "get", path: `${NET}/security-tags`, ...m("List security tags"), request: { params: Net }, responses: { 200: { description: "tags", ...json(z.object({ items: z.array(TagSchema) })) }, ...errorResponses(401, 403) } }), (c) =>
    c.json({ items: listTags(ctx, networkIdOf(c)).map(tagView) }, 200),
  );
  app.openapi(createRoute({ method: "post", path: `${NET}/security-tags`, ...m("Create a security tag"), request: { params: Net, body: { required: true, ...json(TagInput) } }, responses: { 201: { description: "created", ...json(TagSchema) }, ...errorResponses(400, 401, 403, 409) } }), async (c) =>
    c.json(await createTag(ctx, actorOf(c), networkIdOf(c), c.req.valid("json")), 201),
  );
  app.openapi(createRoute({ method: "put", path: `${NET}/security-tags/{id}`, ...m("Change a security tag"), request: { params: NetId, body: { required: true, ...json(TagInput) } }, responses: { 200: { description: "changed", ...json(TagSchema) }, ...errorResponses(400, 401, 403, 404) } }), async (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    return c.json(await updateTag(ctx, actorOf(c), p.networkId, p.id, c.req.valid("json")), 200);
  });
  app.openapi(createRoute({ method: "delete", path: `${NET}/security-tags/{id}`, ...m("Delete a security tag"), request: { params: NetId }, responses: { 204: { description: "deleted" }, ...errorResponses(401, 403, 404) } }), async (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    getTag(ctx, p.networkId, p.id);
    await deleteTag(ctx, actorOf(c), p.networkId, p.id);
    return c.body(null, 204);
  });

  // ---- API tokens of this network.
  const TokenSchema = z.object({ id: z.string(), label: z.string(), prefix: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() });
  const tokenView = (t: { id: string; label: string; prefix: string; createdAt: Date; lastUsedAt: Date | null }) => ({ ...t, createdAt: t.createdAt.toISOString(), lastUsedAt: t.lastUsedAt?.toISOString() ?? null });
  app.openapi(createRoute({ method: "get", path: `${NET}/tokens`, ...m("List this network's API tokens"), request: { params: Net }, responses: { 200: { description: "tokens", ...json(z.object({ items: z.array(TokenSchema) })) }, ...errorResponses(401, 403) } }), (c) =>
    c.json({ items: listNetworkTokens(ctx, networkIdOf(c)).map(tokenView) }, 200),
  );
  app.openapi(
    createRoute({ method: "post", path: `${NET}/tokens`, ...m("Create an API token for this network only (shown once)"),
      request: { params: Net, body: { required: true, ...json(z.object({ label: z.string().min(1).max(100) }).strict()) } },
      responses: { 201: { description: "created", ...json(TokenSchema.extend({ token: z.string() })) }, ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      const t = await createNetworkToken(ctx, actorOf(c), networkIdOf(c), (c.req.valid("json") as { label: string }).label);
      return c.json({ ...tokenView(t.info), token: t.token }, 201);
    },
  );
  app.openapi(createRoute({ method: "delete", path: `${NET}/tokens/{id}`, ...m("Revoke an API token of this network"), request: { params: NetId }, responses: { 204: { description: "revoked" }, ...errorResponses(401, 403, 404) } }), async (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    await revokeNetworkToken(ctx, actorOf(c), p.networkId, p.id);
    return c.body(null, 204);
  });

  // ---- Default rooms (the room bot must be on).
  const RoomSchema = z.object({ id: z.string(), conversationId: z.string(), title: z.string(), securityGroupId: z.string().nullable(), memberCount: z.number() }).openapi("DefaultRoom");
  app.openapi(createRoute({ method: "get", path: `${NET}/default-rooms`, ...m("Default rooms"), request: { params: Net }, responses: { 200: { description: "rooms", ...json(z.object({ items: z.array(RoomSchema) })) }, ...errorResponses(401, 403) } }), (c) =>
    c.json({ items: listDefaultRooms(ctx, networkIdOf(c)) }, 200),
  );
  app.openapi(
    createRoute({
      method: "post", path: `${NET}/default-rooms`, ...m("Create a default room for the whole network or one security group"),
      request: { params: Net, body: { required: true, ...json(z.object({ title: z.string().max(100), securityGroupId: z.string().max(100).nullable().optional() }).strict()) } },
      responses: { 201: { description: "created", ...json(RoomSchema) }, ...errorResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => {
      const b = c.req.valid("json");
      return c.json(await createDefaultRoom(ctx, actorOf(c), networkIdOf(c), { title: b.title, securityGroupId: b.securityGroupId ?? null }), 201);
    },
  );
  app.openapi(createRoute({ method: "delete", path: `${NET}/default-rooms/{id}`, ...m("Delete a default room"), request: { params: NetId }, responses: { 204: { description: "deleted" }, ...errorResponses(401, 403, 404) } }), async (c) => {
    const p = c.req.valid("param");
    await deleteDefaultRoom(ctx, actorOf(c), p.networkId, p.id);
    return c.body(null, 204);
  });

  // ---- Client configurations.
  app.openapi(createRoute({ method: "get", path: `${NET}/client-configs`, ...m("Active client configurations"), request: { params: Net }, responses: { 200: { description: "configurations", ...json(z.object({ items: z.array(ConfigSchema) })) }, ...errorResponses(401, 403) } }), (c) =>
    c.json({ items: listClientConfigs(ctx, networkIdOf(c)).map((i) => configView(ctx, i, new URL(c.req.url).origin)) }, 200),
  );
  app.openapi(
    createRoute({ method: "post", path: `${NET}/client-configs`, ...m("Create a client configuration for a security group"),
      description: "The file is encrypted with a key derived from the password (scrypt N=2^17, r=8, p=1, then AES-256-GCM; see src/modules/client-config/README.md); the password is not stored",
      request: {
        params: Net,
        body: { required: true, ...json(z.object({ name: z.string().max(100).describe("1 to 100 characters"), securityGroupId: z.string().min(1).max(100), expiresInDays: z.number().int().describe("1 to 365"), password: z.string().max(256), pinCertificates: z.boolean().optional() }).strict()) },
      },
      responses: { 201: { description: "created", ...json(ConfigSchema) }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const origin = new URL(c.req.url).origin;
      const created = await createClientConfig(ctx, actorOf(c), networkIdOf(c), c.req.valid("json"), { origin });
      return c.json(configView(ctx, created.info, origin), 201);
    },
  );
  app.openapi(createRoute({ method: "get", path: `${NET}/client-configs/{id}/file`, ...m("Download (again) an active client configuration file"), request: { params: NetId }, responses: { 200: { description: "the encrypted file (JSON text, see src/modules/client-config/README.md)" }, ...errorResponses(401, 403, 404) } }), (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    const f = downloadClientConfig(ctx, p.networkId, p.id);
    return c.body(f.file, 200, { "content-type": "application/vnd.outpost.client-config+json", "content-disposition": `attachment; filename="${configFileName(f.name)}"` });
  });
  app.openapi(createRoute({ method: "post", path: `${NET}/client-configs/{id}/expire`, ...m("Expire a client configuration now"), request: { params: NetId }, responses: { 204: { description: "expired" }, ...errorResponses(401, 403, 404) } }), async (c) => {
    const p = c.req.valid("param") as z.infer<typeof NetId>;
    await expireClientConfig(ctx, actorOf(c), p.networkId, p.id);
    return c.body(null, 204);
  });
}

// Data retention per network: provisioning the compliance bot (user, device, compliance
// device mark), its writer's options, pause/restart/delete, status for consoles and
// /readyz, and the facts the bot asks about each delivered packet (receive time, sender).
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { and, asc, eq, gt, gte, sql } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { OutpostClient } from "../../client/client.ts";
import { ComplianceOptionsError, parseComplianceWriterOptions } from "../../compliance/writer.ts";
import { saveBotState, type DeliveryMeta } from "../../compliance/bot.ts";
import { complianceWriters, conversationMembers, conversations, devices, packets, packetWraps, deviceCursors, users } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { relayHooks } from "../../relay/hooks.ts";
import { auditIn, type Actor } from "../audit/audit.service.ts";
import { complianceDeviceOf, setComplianceDevice, type DevicePrincipal } from "../devices/devices.service.ts";
import { getNetwork } from "../networks/networks.service.ts";
import { defaultSecurityGroup, getSecurityGroup } from "../security-groups/security-groups.service.ts";
import { createUser } from "../users/users.service.ts";
import { complianceSupervisor } from "../../compliance/supervisor.ts";

export interface WriterOptionsInput {
  messagesDir?: string | undefined;
  attachmentsDir?: string | undefined;
  filePrefix?: string | undefined;
  maxFileBytes?: number | undefined;
}

export interface ProvisionInput extends WriterOptionsInput {
  username?: string | undefined;
  /** local (default): this server runs the writer; remote: `outpost compliance run` on another host registers it. */
  mode?: "local" | "remote" | undefined;
}

export type ComplianceWriterRow = typeof complianceWriters.$inferSelect;
export interface StoredOptions {
  messagesDir: string;
  attachmentsDir: string;
  filePrefix?: string;
  maxFileBytes?: number;
}

export function complianceDir(ctx: AppContext, networkId: string): string {
  return resolve(ctx.config.dataDir, "compliance", networkId);
}

export function botStatePath(ctx: AppContext, networkId: string): string {
  return join(complianceDir(ctx, networkId), "bot.state.json");
}

/** Validates writer options; each error names the option. Absolute paths are kept, relative ones resolve against the data dir. */
export function writerOptions(ctx: AppContext, networkId: string, input: WriterOptionsInput): StoredOptions {
  const base = complianceDir(ctx, networkId);
  const opts: StoredOptions = {
    messagesDir: resolve(ctx.config.dataDir, input.messagesDir ?? join(base, "messages")),
    attachmentsDir: resolve(ctx.config.dataDir, input.attachmentsDir ?? join(base, "attachments")),
    ...(input.filePrefix !== undefined ? { filePrefix: input.filePrefix } : {}),
    ...(input.maxFileBytes !== undefined ? { maxFileBytes: input.maxFileBytes } : {}),
  };
  try {
    parseComplianceWriterOptions(opts);
  } catch (e) {
    if (e instanceof ComplianceOptionsError) {
      throw new AppError(
        "validation_failed",
        e.issues.map((i) => `${i.path}: ${i.message}`).join("; "),
        e.issues.map((i) => ({ path: i.path, rule: "option", message: i.message })),
      );
    }
    throw e;
  }
  return opts;
}

/** A password that meets any complexity rule a security group can set (letters, digits, symbols, 32+ chars). */
function generatedPassword(): string {
  return `Rb-${randomBytes(24).toString("base64url")}7x!`;
}

export function findComplianceWriter(ctx: AppContext, networkId: string): ComplianceWriterRow | undefined {
  return ctx.storage.read().select().from(complianceWriters).where(eq(complianceWriters.networkId, networkId)).get();
}

function requireWriter(ctx: AppContext, networkId: string): ComplianceWriterRow {
  getNetwork(ctx, networkId);
  const row = findComplianceWriter(ctx, networkId);
  if (!row) throw new AppError("not_found", `network ${networkId} has no compliance writer`);
  return row;
}

/**
 * Creates the network's compliance bot (a bot user with a generated password, returned
 * once). Local mode also registers its device through the SDK, keeps the device state 0600
 * under <dataDir>/compliance/<network>/, marks it as the compliance device and starts it.
 */
export async function provisionComplianceWriter(ctx: AppContext, actor: Actor, networkId: string, input: ProvisionInput) {
  getNetwork(ctx, networkId);
  if (findComplianceWriter(ctx, networkId)) throw new AppError("conflict", "this network already has a compliance writer; delete it first");
  const mode = input.mode ?? "local";
  const options = writerOptions(ctx, networkId, input);
  const username = input.username ?? "compliancebot";
  const password = generatedPassword();
  const group = defaultSecurityGroup(ctx, networkId);
  const bot = await createUser(ctx, { networkId, username, password, type: "bot", securityGroupId: group.id, firstName: "Compliance", lastName: "bot" });
  const now = new Date();
  try {
    await ctx.writer.run(() => {
      ctx.storage.writeDb.insert(complianceWriters).values({ networkId, botUserId: bot.id, mode, options, paused: false, createdAt: now, updatedAt: now }).run();
      auditIn(ctx, { actor, action: "compliance.create", target: bot.username, networkId, details: { mode, ...options } });
    });
    if (mode === "local") {
      if (!ctx.selfUrl) throw new AppError("unavailable", "a local compliance writer needs the running server (use the REST API or the console)");
      const client = await OutpostClient.register({ config: { serviceUrl: ctx.selfUrl, networkId }, username, password, deviceName: "compliance writer", prekeyCount: 200 });
      saveBotState(botStatePath(ctx, networkId), client.exportState());
      await setComplianceDevice(ctx, networkId, client.deviceId);
      complianceSupervisor(ctx).start(networkId);
    }
  } catch (e) {
    await removeWriter(ctx, networkId, bot.id);
    throw e;
  }
  return { writer: complianceWriterView(ctx, networkId), username: bot.username, password };
}

/** Remote mode: the bot's first device, registered from the other host, claims the compliance mark. */
export async function claimComplianceDevice(ctx: AppContext, me: DevicePrincipal) {
  const row = findComplianceWriter(ctx, me.networkId);
  if (!row || row.botUserId !== me.userId) throw new AppError("forbidden", "only the network's compliance bot can claim the compliance device");
  const current = complianceDeviceOf(ctx, me.networkId);
  if (current && current !== me.deviceId) {
    const active = ctx.storage.read().select({ revokedAt: devices.revokedAt }).from(devices).where(eq(devices.id, current)).get();
    if (active && !active.revokedAt) throw new AppError("conflict", "the compliance device is already registered; delete the writer to start over");
  }
  await setComplianceDevice(ctx, me.networkId, me.deviceId);
  return { deviceId: me.deviceId };
}

async function removeWriter(ctx: AppContext, networkId: string, botUserId: string) {
  await complianceSupervisor(ctx).stop(networkId);
  await setComplianceDevice(ctx, networkId, null);
  const devIds = ctx.storage.read().select({ id: devices.id }).from(devices).where(eq(devices.userId, botUserId)).all().map((d) => d.id);
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    for (const id of devIds) db.delete(packetWraps).where(eq(packetWraps.deviceId, id)).run();
    db.delete(complianceWriters).where(eq(complianceWriters.networkId, networkId)).run();
    db.delete(users).where(eq(users.id, botUserId)).run();
  });
  relayHooks(ctx).devicesChanged(botUserId, devIds);
}

/** Deletes the writer and its bot: clients stop including the device and the relay stops requiring it. Files stay. */
export async function deleteComplianceWriter(ctx: AppContext, actor: Actor, networkId: string) {
  const row = requireWriter(ctx, networkId);
  await removeWriter(ctx, networkId, row.botUserId);
  await ctx.writer.run(() => auditIn(ctx, { actor, action: "compliance.delete", target: networkId, networkId }));
}

export async function setCompliancePaused(ctx: AppContext, actor: Actor, networkId: string, paused: boolean) {
  requireWriter(ctx, networkId);
  await ctx.writer.run(() => {
    ctx.storage.writeDb.update(complianceWriters).set({ paused, updatedAt: new Date() }).where(eq(complianceWriters.networkId, networkId)).run();
    auditIn(ctx, { actor, action: paused ? "compliance.pause" : "compliance.start", target: networkId, networkId });
  });
  complianceSupervisor(ctx).apply(networkId);
  return complianceWriterView(ctx, networkId);
}

export async function restartComplianceWriter(ctx: AppContext, actor: Actor, networkId: string) {
  const row = requireWriter(ctx, networkId);
  if (row.mode !== "local") throw new AppError("conflict", "a remote writer is restarted on its own host");
  await ctx.writer.run(() => auditIn(ctx, { actor, action: "compliance.restart", target: networkId, networkId }));
  await complianceSupervisor(ctx).restart(networkId);
  return complianceWriterView(ctx, networkId);
}

/** Messages waiting for the compliance device on the relay (its queue after its acknowledged cursor). */
function serverBacklog(ctx: AppContext, deviceId: string | null): { backlog: number; ackedSeq: number } {
  if (!deviceId) return { backlog: 0, ackedSeq: 0 };
  const db = ctx.storage.read();
  const ackedSeq = db.select({ seq: deviceCursors.ackedSeq }).from(deviceCursors).where(eq(deviceCursors.deviceId, deviceId)).get()?.seq ?? 0;
  const backlog = db.select({ n: sql<number>`count(*)` }).from(packetWraps).where(and(eq(packetWraps.deviceId, deviceId), gt(packetWraps.seq, ackedSeq))).get()?.n ?? 0;
  return { backlog, ackedSeq };
}

export function complianceWriterView(ctx: AppContext, networkId: string) {
  const row = requireWriter(ctx, networkId);
  const bot = ctx.storage.read().select({ username: users.username }).from(users).where(eq(users.id, row.botUserId)).get();
  const deviceId = complianceDeviceOf(ctx, networkId);
  const local = complianceSupervisor(ctx).status(networkId);
  const { backlog } = serverBacklog(ctx, deviceId);
  const options = row.options as StoredOptions;
  return {
    networkId,
    botUsername: bot?.username ?? "",
    mode: row.mode,
    deviceId,
    paused: row.paused,
    options: { messagesDir: options.messagesDir, attachmentsDir: options.attachmentsDir, filePrefix: options.filePrefix ?? "receivedMessages", maxFileBytes: options.maxFileBytes ?? 1073741824 },
    /** running/paused/failing from the writer itself (local), or "remote"/"stopped"/"starting". */
    state: row.paused ? "paused" : (local?.state ?? (row.mode === "remote" ? "remote" : "stopped")),
    lastMessageAt: local?.lastMessageAt ?? null,
    backlog,
    bytesWritten: local?.bytesWritten ?? 0,
    linesWritten: local?.linesWritten ?? 0,
    rejected: local?.rejected ?? 0,
    lastError: local?.lastError ?? null,
    failingSince: local?.failingSince ?? null,
    connected: local?.connected ?? false,
    createdAt: row.createdAt.toISOString(),
  };
}
export type ComplianceWriterView = ReturnType<typeof complianceWriterView>;

export function listComplianceWriters(ctx: AppContext, page: { limit: number; offset: number }) {
  const db = ctx.storage.read();
  const total = db.select({ n: sql<number>`count(*)` }).from(complianceWriters).get()?.n ?? 0;
  const rows = db.select({ networkId: complianceWriters.networkId }).from(complianceWriters).orderBy(asc(complianceWriters.createdAt)).limit(page.limit).offset(page.offset).all();
  return { items: rows.map((r) => complianceWriterView(ctx, r.networkId)), total };
}

export function localWriterRows(ctx: AppContext): ComplianceWriterRow[] {
  return ctx.storage.read().select().from(complianceWriters).where(eq(complianceWriters.mode, "local")).all();
}

/**
 * What the compliance device needs beside the packet: the server receive time, the
 * effective expiration, the sender's username, type and link-preview setting, and the other
 * member of a direct conversation. Only the network's compliance device may ask.
 */
export function deliveryFacts(ctx: AppContext, me: DevicePrincipal, fromSeq: number, limit: number): DeliveryMeta[] {
  if (complianceDeviceOf(ctx, me.networkId) !== me.deviceId) throw new AppError("forbidden", "only the network's compliance device can read delivery facts");
  const db = ctx.storage.read();
  const rows = db
    .select({
      seq: packets.seq,
      packetId: packets.packetId,
      receivedAt: packets.receivedAt,
      expiresAt: packets.expiresAt,
      conversationId: packets.conversationId,
      kind: conversations.kind,
      userId: users.id,
      username: users.username,
      securityGroupId: users.securityGroupId,
    })
    .from(packetWraps)
    .innerJoin(packets, eq(packets.seq, packetWraps.seq))
    .innerJoin(devices, eq(devices.id, packets.senderDeviceId))
    .innerJoin(users, eq(users.id, devices.userId))
    .leftJoin(conversations, eq(conversations.id, packets.conversationId))
    .where(and(eq(packetWraps.deviceId, me.deviceId), gte(packetWraps.seq, fromSeq)))
    .orderBy(asc(packetWraps.seq))
    .limit(limit)
    .all();
  const previews = new Map<string, boolean>();
  const others = new Map<string, string[]>();
  return rows.map((r) => {
    let lp = previews.get(r.securityGroupId);
    if (lp === undefined) previews.set(r.securityGroupId, (lp = getSecurityGroup(ctx, me.networkId, r.securityGroupId).settings.messaging.linkPreviews));
    let other: string | null = null;
    // A deleted room's last packets (its 4005) outlive the conversation row.
    const kind = r.kind ?? (r.conversationId.startsWith("S") ? "room" : r.conversationId.startsWith("G") ? "group" : "direct");
    if (kind === "direct") {
      let members = others.get(r.conversationId);
      if (!members) others.set(r.conversationId, (members = db.select({ u: conversationMembers.userId }).from(conversationMembers).where(eq(conversationMembers.conversationId, r.conversationId)).all().map((m) => m.u)));
      other = members.find((u) => u !== r.userId) ?? r.userId;
    }
    return {
      seq: r.seq,
      packetId: r.packetId,
      receivedAtMs: r.receivedAt,
      ttlSeconds: Math.max(0, Math.round((r.expiresAt - r.receivedAt) / 1000)),
      // Federated guests are not part of Outpost yet: every sender is a user of this network.
      sender: { userId: r.userId, username: r.username, type: "normal" as const, linkPreviews: lp },
      conversation: { id: r.conversationId, kind, otherMember: other },
    };
  });
}

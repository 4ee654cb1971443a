// Client registration and device keys: sign-in, the user's root public key, devices
// certified by it (each with a bearer secret for the API and relay), signed prekeys
// and their claiming, device reset, and the code-based root-key sync between devices.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { PacketError, SUITE_IDS, verifyDeviceCertificate, verifyPrekey, type SuiteId } from "../../crypto/index.ts";
import { deviceSyncBundles, deviceSyncHistories, devices, networkComplianceDevices, prekeys, userRootKeys, users } from "../../db/schema/index.ts";
import { AppError } from "../../http/errors.ts";
import { getNetwork } from "../networks/networks.service.ts";
import { getSecurityGroup } from "../security-groups/security-groups.service.ts";
import { getUser, signInUser, type User } from "../users/users.service.ts";
import { relayHooks } from "../../relay/hooks.ts";

export const MAX_ONE_TIME_PREKEYS = 200;
const SIGN_IN_TICKET_MS = 5 * 60_000;
const SYNC_BUNDLE_MS = 10 * 60_000;

export interface DevicePrincipal {
  deviceId: string;
  userId: string;
  networkId: string;
  securityGroupId: string;
}

interface SignInTicket {
  userId: string;
  networkId: string;
  expiresAt: number;
}

// Tickets bridge the two registration steps (the certificate must name the user id the
// sign-in returns). They are short-lived, so keeping them in memory is enough.
const tickets = new WeakMap<AppContext, Map<string, SignInTicket>>();
function ticketsOf(ctx: AppContext) {
  let m = tickets.get(ctx);
  if (!m) tickets.set(ctx, (m = new Map()));
  return m;
}

export function sha256Hex(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

function fail(field: string, rule: string, message: string): never {
  throw new AppError("validation_failed", `${field}: ${message}`, [{ path: field, rule, message }]);
}

/** What a client must honour, from its security group and network (see settingEnforcement). */
export function clientPolicy(ctx: AppContext, user: Pick<User, "networkId" | "securityGroupId">) {
  const settings = getSecurityGroup(ctx, user.networkId, user.securityGroupId).settings;
  const network = getNetwork(ctx, user.networkId);
  return {
    maxExpirationSeconds: settings.messaging.maxExpirationSeconds,
    quickResponses: settings.messaging.quickResponses,
    locationSharing: settings.messaging.locationSharing,
    linkPreviews: settings.messaging.linkPreviews,
    presence: settings.general.userPresence,
    /** Whether notifications may show a message's content, or only who it is from. */
    previewNotifications: settings.general.previewNotifications,
    readReceipts: network.readReceipts,
    complianceDeviceId: complianceDeviceOf(ctx, user.networkId),
    /** Attachments both ways, and the largest upload (the server refuses beyond either; clients say so before trying). */
    attachments: settings.messaging.attachments,
    maxUploadBytes: settings.messaging.maxUploadBytes,
    /** Ask for the password again whenever the client comes back to the foreground. */
    alwaysReauthenticate: settings.security.alwaysReauthenticate,
    /** Whether users may choose their own password, and the rule it must meet (the server checks it again). */
    passwordChange: { allowed: settings.security.userCanChangePassword, rule: settings.security.password },
    /** Wrong passwords in a row after which a client wipes its local keys and history (0 = never). */
    deviceResetAfter: settings.security.deviceResetAfter,
  };
}
export type ClientPolicy = ReturnType<typeof clientPolicy>;

/** Step 1 of registration: checks the password (with the group's lockout rules) and returns a ticket. */
export async function signIn(ctx: AppContext, input: { networkId: string; username: string; password: string }) {
  getNetwork(ctx, input.networkId);
  const user = await signInUser(ctx, input.networkId, input.username, input.password, (userId) => resetDevicesInWrite(ctx, userId));
  const root = ctx.storage.read().select().from(userRootKeys).where(eq(userRootKeys.userId, user.id)).get();
  const ticket = randomBytes(24).toString("base64url");
  const now = Date.now();
  const map = ticketsOf(ctx);
  for (const [k, t] of map) if (t.expiresAt < now) map.delete(k);
  map.set(ticket, { userId: user.id, networkId: user.networkId, expiresAt: now + SIGN_IN_TICKET_MS });
  return {
    userId: user.id,
    username: user.username,
    ticket,
    rootKey: root ? { suite: root.suite as SuiteId, publicKey: new Uint8Array(root.publicKey) } : null,
  };
}

function takeTicket(ctx: AppContext, ticket: string, consume: boolean): SignInTicket {
  const t = ticketsOf(ctx).get(ticket);
  if (!t || t.expiresAt < Date.now()) throw new AppError("unauthenticated", "the sign-in ticket is unknown or expired; sign in again");
  if (consume) ticketsOf(ctx).delete(ticket);
  return t;
}

export interface RegisterDeviceInput {
  ticket: string;
  suite: SuiteId;
  rootPublicKey: Uint8Array;
  certificate: Uint8Array;
  prekeys: Uint8Array[];
  name?: string;
}

/**
 * Step 2: the first device of a user sets the root key; later devices must present the
 * same root key (moved to them by device sync). The certificate must be signed by that
 * root and name this user; every prekey must be signed by the certified device key.
 */
export async function registerDevice(ctx: AppContext, input: RegisterDeviceInput) {
  const t = takeTicket(ctx, input.ticket, false);
  if (!SUITE_IDS.includes(input.suite)) fail("suite", "enum", `unknown suite; one of ${SUITE_IDS.join(", ")}`);
  const existingRoot = ctx.storage.read().select().from(userRootKeys).where(eq(userRootKeys.userId, t.userId)).get();
  if (existingRoot && (existingRoot.suite !== input.suite || !Buffer.from(existingRoot.publicKey).equals(Buffer.from(input.rootPublicKey)))) {
    throw new AppError("conflict", "this user already has a different root key: move it to this device with a sync code from an existing device", { reason: "root_key_mismatch" });
  }
  let cert;
  try {
    cert = await verifyDeviceCertificate(input.certificate, input.rootPublicKey, { userId: t.userId, suite: input.suite });
  } catch (e) {
    fail("certificate", "device_not_signed", `the device certificate is not signed by the root key for this user (${(e as Error).message})`);
  }
  const verified = await verifyPrekeyList(input.prekeys, cert);
  if (!verified.some((p) => p.kind === "last-resort")) fail("prekeys", "last_resort", "must include one last-resort prekey");
  const token = randomBytes(32).toString("base64url");
  const now = new Date();
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    if (db.select({ id: devices.id }).from(devices).where(eq(devices.id, cert.deviceId)).get()) {
      throw new AppError("conflict", `device id ${cert.deviceId} is already registered`, [{ path: "certificate", rule: "unique", message: "device id taken" }]);
    }
    const user = db.select().from(users).where(eq(users.id, t.userId)).get();
    if (!user || user.status === "suspended") throw new AppError("account_suspended", "this account is suspended; ask a network administrator to reactivate it");
    if (!existingRoot) db.insert(userRootKeys).values({ userId: t.userId, suite: input.suite, publicKey: Buffer.from(input.rootPublicKey), createdAt: now }).onConflictDoNothing().run();
    db.insert(devices).values({ id: cert.deviceId, userId: t.userId, networkId: t.networkId, certificate: Buffer.from(input.certificate), tokenHash: sha256Hex(token), name: input.name ?? "", createdAt: now }).run();
    insertPrekeys(ctx, cert.deviceId, verified, now);
    if (user.status === "pending") db.update(users).set({ status: "active", updatedAt: now }).where(eq(users.id, t.userId)).run();
  });
  ticketsOf(ctx).delete(input.ticket);
  relayHooks(ctx).devicesChanged(t.userId);
  const user = getUser(ctx, t.networkId, t.userId);
  return { deviceId: cert.deviceId, userId: t.userId, networkId: t.networkId, token, policy: clientPolicy(ctx, user) };
}

async function verifyPrekeyList(list: Uint8Array[], cert: Awaited<ReturnType<typeof verifyDeviceCertificate>>) {
  if (list.length > MAX_ONE_TIME_PREKEYS + 1) fail("prekeys", "max", `at most ${MAX_ONE_TIME_PREKEYS + 1} prekeys per upload`);
  const out = [];
  for (const [i, bytes] of list.entries()) {
    try {
      const p = await verifyPrekey(bytes, cert);
      out.push({ id: p.id, kind: p.kind, bytes });
    } catch (e) {
      fail(`prekeys.${i}`, e instanceof PacketError ? e.code : "invalid", `not a prekey signed by this device (${(e as Error).message})`);
    }
  }
  return out;
}

function insertPrekeys(ctx: AppContext, deviceId: string, list: { id: string; kind: "one-time" | "last-resort"; bytes: Uint8Array }[], now: Date) {
  const db = ctx.storage.writeDb;
  if (list.some((p) => p.kind === "last-resort")) db.delete(prekeys).where(and(eq(prekeys.deviceId, deviceId), eq(prekeys.kind, "last-resort"))).run();
  for (const p of list) db.insert(prekeys).values({ deviceId, prekeyId: p.id, kind: p.kind, signed: Buffer.from(p.bytes), createdAt: now }).onConflictDoNothing().run();
  const { n } = db.select({ n: sql<number>`count(*)` }).from(prekeys).where(and(eq(prekeys.deviceId, deviceId), eq(prekeys.kind, "one-time"))).get()!;
  if (n > MAX_ONE_TIME_PREKEYS) throw new AppError("conflict", `a device holds at most ${MAX_ONE_TIME_PREKEYS} one-time prekeys (it would have ${n})`, [{ path: "prekeys", rule: "max", message: "pool full" }]);
}

/** Refill: more one-time prekeys and/or a rotated last-resort key. */
export async function uploadPrekeys(ctx: AppContext, me: DevicePrincipal, list: Uint8Array[]) {
  const row = ctx.storage.read().select().from(devices).where(eq(devices.id, me.deviceId)).get()!;
  const root = ctx.storage.read().select().from(userRootKeys).where(eq(userRootKeys.userId, me.userId)).get()!;
  const cert = await verifyDeviceCertificate(new Uint8Array(row.certificate), new Uint8Array(root.publicKey));
  const verified = await verifyPrekeyList(list, cert);
  await ctx.writer.run(() => insertPrekeys(ctx, me.deviceId, verified, new Date()));
  return prekeyCount(ctx, me.deviceId);
}

export function prekeyCount(ctx: AppContext, deviceId: string) {
  const rows = ctx.storage.read().select({ kind: prekeys.kind, n: sql<number>`count(*)` }).from(prekeys).where(eq(prekeys.deviceId, deviceId)).groupBy(prekeys.kind).all();
  return { oneTime: rows.find((r) => r.kind === "one-time")?.n ?? 0, lastResort: rows.find((r) => r.kind === "last-resort")?.n ?? 0 };
}

/**
 * Hands out prekeys for other devices of the caller's network: one-time keys are deleted
 * as they are handed out (each used once); when a device has none left its last-resort key
 * is returned instead (and not deleted).
 */
export async function claimPrekeys(ctx: AppContext, me: DevicePrincipal, wanted: { deviceId: string; count: number }[]) {
  if (wanted.length > 1000) fail("devices", "max", "at most 1000 devices per claim");
  return ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    const out: { deviceId: string; prekeys: Uint8Array[] }[] = [];
    for (const w of wanted) {
      const dev = db.select({ networkId: devices.networkId, revokedAt: devices.revokedAt }).from(devices).where(eq(devices.id, w.deviceId)).get();
      if (!dev || dev.networkId !== me.networkId || dev.revokedAt) throw new AppError("not_found", `no device ${w.deviceId} in this network`);
      const rows = db.select().from(prekeys).where(and(eq(prekeys.deviceId, w.deviceId), eq(prekeys.kind, "one-time"))).limit(Math.min(Math.max(w.count, 1), 100)).all();
      for (const r of rows) db.delete(prekeys).where(and(eq(prekeys.deviceId, r.deviceId), eq(prekeys.prekeyId, r.prekeyId))).run();
      const list = rows.map((r) => new Uint8Array(r.signed));
      if (list.length === 0) {
        const last = db.select().from(prekeys).where(and(eq(prekeys.deviceId, w.deviceId), eq(prekeys.kind, "last-resort"))).get();
        if (last) list.push(new Uint8Array(last.signed));
      }
      out.push({ deviceId: w.deviceId, prekeys: list });
    }
    return out;
  });
}

/** Resolves a device bearer credential ("<deviceId>.<secret>"); refuses revoked devices and suspended users. */
export function authenticateDevice(ctx: AppContext, deviceId: string, token: string): DevicePrincipal {
  const row = ctx.storage
    .read()
    .select({ id: devices.id, tokenHash: devices.tokenHash, revokedAt: devices.revokedAt, userId: users.id, networkId: users.networkId, status: users.status, securityGroupId: users.securityGroupId })
    .from(devices)
    .innerJoin(users, eq(users.id, devices.userId))
    .where(eq(devices.id, deviceId))
    .get();
  const presented = Buffer.from(sha256Hex(token));
  if (!row || !timingSafeEqual(presented, Buffer.from(row.tokenHash))) throw new AppError("unauthenticated", "unknown device or wrong device secret");
  if (row.revokedAt) throw new AppError("unauthenticated", "this device was reset; register it again");
  if (row.status === "suspended") throw new AppError("account_suspended", "this account is suspended; ask a network administrator to reactivate it");
  return { deviceId: row.id, userId: row.userId, networkId: row.networkId, securityGroupId: row.securityGroupId };
}

/** Device reset (the group's wrong-password rule): runs inside the caller's write. */
function resetDevicesInWrite(ctx: AppContext, userId: string) {
  const db = ctx.storage.writeDb;
  const ids = db.select({ id: devices.id }).from(devices).where(and(eq(devices.userId, userId), isNull(devices.revokedAt))).all().map((r) => r.id);
  if (ids.length === 0) return;
  db.update(devices).set({ revokedAt: new Date() }).where(inArray(devices.id, ids)).run();
  db.delete(prekeys).where(inArray(prekeys.deviceId, ids)).run();
  queueMicrotask(() => relayHooks(ctx).devicesChanged(userId, ids));
}

/** The network's compliance device, or null: clients must wrap every packet for it too. */
export function complianceDeviceOf(ctx: AppContext, networkId: string): string | null {
  return ctx.storage.read().select().from(networkComplianceDevices).where(eq(networkComplianceDevices.networkId, networkId)).get()?.deviceId ?? null;
}

export async function setComplianceDevice(ctx: AppContext, networkId: string, deviceId: string | null) {
  getNetwork(ctx, networkId);
  if (deviceId) {
    const dev = ctx.storage.read().select().from(devices).where(eq(devices.id, deviceId)).get();
    if (!dev || dev.networkId !== networkId) throw new AppError("not_found", `no device ${deviceId} in this network`);
  }
  await ctx.writer.run(() => {
    ctx.storage.writeDb
      .insert(networkComplianceDevices)
      .values({ networkId, deviceId, updatedAt: new Date() })
      .onConflictDoUpdate({ target: networkComplianceDevices.networkId, set: { deviceId, updatedAt: new Date() } })
      .run();
  });
  relayHooks(ctx).complianceChanged(networkId);
}

/** Stores a root-key bundle (already encrypted by the client under the sync code's secret half). */
export async function putSyncBundle(ctx: AppContext, me: DevicePrincipal, lookupHash: string, bundle: Uint8Array) {
  if (!/^[0-9a-f]{64}$/.test(lookupHash)) fail("lookupHash", "format", "64 lowercase hex characters");
  if (bundle.length > 4096) fail("bundle", "max", "at most 4096 bytes");
  const expiresAt = Date.now() + SYNC_BUNDLE_MS;
  await ctx.writer.run(() => {
    ctx.storage.writeDb.delete(deviceSyncBundles).where(sql`${deviceSyncBundles.expiresAt} < ${Date.now()}`).run();
    ctx.storage.writeDb.insert(deviceSyncBundles).values({ lookupHash, userId: me.userId, bundle: Buffer.from(bundle), expiresAt }).onConflictDoUpdate({ target: deviceSyncBundles.lookupHash, set: { bundle: Buffer.from(bundle), expiresAt } }).run();
  });
  return { expiresAt };
}

/** A new device, signed in with the user's password, takes the bundle once. */
export async function takeSyncBundle(ctx: AppContext, ticket: string, lookupHash: string): Promise<Uint8Array> {
  const t = takeTicket(ctx, ticket, false);
  const row = await ctx.writer.run(() => {
    const r = ctx.storage.writeDb.select().from(deviceSyncBundles).where(eq(deviceSyncBundles.lookupHash, lookupHash)).get();
    if (r && r.userId === t.userId) ctx.storage.writeDb.delete(deviceSyncBundles).where(eq(deviceSyncBundles.lookupHash, lookupHash)).run();
    return r;
  });
  if (!row || row.userId !== t.userId || row.expiresAt < Date.now()) throw new AppError("not_found", "no device-sync bundle for this code (wrong code, another user, or expired)");
  return new Uint8Array(row.bundle);
}

/** Largest history archive a device may leave for a new device (compressed and encrypted). */
export const MAX_SYNC_HISTORY_BYTES = 16 * 1024 * 1024;

/**
 * Stores a history archive (sealed by the client under a key from the sync code, so the
 * server holds ciphertext only) beside the code's bundle, for 10 minutes. One per user: an
 * archive for a newer code replaces the older one, which bounds what a user can park here.
 */
export async function putSyncHistory(ctx: AppContext, me: DevicePrincipal, lookupHash: string, archive: Uint8Array) {
  if (!/^[0-9a-f]{64}$/.test(lookupHash)) fail("lookupHash", "format", "64 lowercase hex characters");
  if (archive.length === 0) fail("body", "min", "the archive is empty");
  if (archive.length > MAX_SYNC_HISTORY_BYTES) throw new AppError("payload_too_large", `the history archive is ${archive.length} bytes; at most ${MAX_SYNC_HISTORY_BYTES} are accepted`, { limitBytes: MAX_SYNC_HISTORY_BYTES });
  const expiresAt = Date.now() + SYNC_BUNDLE_MS;
  await ctx.writer.run(() => {
    const db = ctx.storage.writeDb;
    db.delete(deviceSyncHistories).where(sql`${deviceSyncHistories.expiresAt} < ${Date.now()} or ${deviceSyncHistories.userId} = ${me.userId}`).run();
    const taken = db.select({ userId: deviceSyncHistories.userId }).from(deviceSyncHistories).where(eq(deviceSyncHistories.lookupHash, lookupHash)).get();
    // Another user's archive under this hash (a collision no honest client makes): refused, not replaced.
    if (taken) throw new AppError("conflict", "lookupHash: already in use");
    db.insert(deviceSyncHistories).values({ lookupHash, userId: me.userId, archive: Buffer.from(archive), expiresAt }).run();
  });
  return { expiresAt, size: archive.length };
}

/** The user's new device (registered with the code) takes the archive once; another user's, an expired or a taken one is "not found". */
export async function takeSyncHistory(ctx: AppContext, me: DevicePrincipal, lookupHash: string): Promise<Uint8Array> {
  if (!/^[0-9a-f]{64}$/.test(lookupHash)) fail("lookupHash", "format", "64 lowercase hex characters");
  const row = await ctx.writer.run(() => {
    const r = ctx.storage.writeDb.select().from(deviceSyncHistories).where(eq(deviceSyncHistories.lookupHash, lookupHash)).get();
    if (r && r.userId === me.userId) ctx.storage.writeDb.delete(deviceSyncHistories).where(eq(deviceSyncHistories.lookupHash, lookupHash)).run();
    return r;
  });
  if (!row || row.userId !== me.userId || row.expiresAt < Date.now()) throw new AppError("not_found", "no history archive for this code (none was left, wrong code, another user, already taken or expired)");
  return new Uint8Array(row.archive);
}

/** Directory: users of the caller's network with their root keys and active signed devices. */
export function lookupUsers(ctx: AppContext, networkId: string, by: { userIds?: string[]; usernames?: string[] }) {
  const db = ctx.storage.read();
  const cond = by.userIds?.length ? inArray(users.id, by.userIds) : inArray(users.username, (by.usernames ?? []).map((u) => u.trim().toLowerCase()));
  const found = db
    .select({ id: users.id, username: users.username, firstName: users.firstName, lastName: users.lastName, status: users.status })
    .from(users)
    .where(and(eq(users.networkId, networkId), cond))
    .all();
  const ids = found.map((u) => u.id);
  const roots = ids.length ? db.select().from(userRootKeys).where(inArray(userRootKeys.userId, ids)).all() : [];
  const devs = ids.length ? db.select({ id: devices.id, userId: devices.userId, certificate: devices.certificate }).from(devices).where(and(inArray(devices.userId, ids), isNull(devices.revokedAt))).all() : [];
  return found.map((u) => {
    const root = roots.find((r) => r.userId === u.id);
    return {
      userId: u.id,
      username: u.username,
      firstName: u.firstName,
      lastName: u.lastName,
      status: u.status,
      rootKey: root ? { suite: root.suite as SuiteId, publicKey: new Uint8Array(root.publicKey) } : null,
      devices: devs.filter((d) => d.userId === u.id).map((d) => ({ deviceId: d.id, certificate: new Uint8Array(d.certificate) })),
    };
  });
}

export function listDirectory(ctx: AppContext, networkId: string, opts: { query?: string; limit: number; after?: string }) {
  const db = ctx.storage.read();
  const q = opts.query?.trim().toLowerCase();
  const rows = db
    .select({ id: users.id, username: users.username, firstName: users.firstName, lastName: users.lastName })
    .from(users)
    .where(and(eq(users.networkId, networkId), q ? sql`(${users.username} like ${"%" + q + "%"} or lower(${users.firstName} || ' ' || ${users.lastName}) like ${"%" + q + "%"})` : undefined, opts.after ? sql`${users.username} > ${opts.after}` : undefined))
    .orderBy(users.username)
    .limit(opts.limit + 1)
    .all();
  const more = rows.length > opts.limit;
  const items = rows.slice(0, opts.limit).map((r) => ({ userId: r.id, username: r.username, firstName: r.firstName, lastName: r.lastName }));
  return { items, next: more ? items[items.length - 1]!.username : null };
}


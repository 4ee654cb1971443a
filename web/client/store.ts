// The client's state: one OutpostClient, the conversations and message history this
// device keeps (sent and received), timers for expiration and burn-on-read, and the
// encrypted vault they are saved to. The UI reads signals from here and calls actions.
import { signal, computed } from "@preact/signals";
// The SDK's modules are imported one by one: its index also exports the calls module,
// whose werift participant is for Bun, not browsers (browsers use encoded transforms).
import { OutpostClient, type ClientPolicy, type DeviceState } from "../../src/client/client.ts";
import { OutpostError, type ClientConfig } from "../../src/client/api.ts";
import { liveMessages, type SyncHistory, type SyncHistoryMessage } from "../../src/client/device-sync.ts";
import { MessageType, extractLinks, type ReceivedMessage, type LocationContent } from "../../src/client/messages.ts";
import { files, fileContentOf, type FileContent, type FileProgress, type RoomFileEntry, type UploadHandle } from "../../src/client/files.ts";
import { roomKeys, type RoomFileKey, type RoomKeyStore } from "../../src/client/room-keys.ts";
import { Vault } from "./vault.ts";
import { attachCalls } from "./calls.ts";
import { notify } from "./notify.ts";
import { DeviceErased, keptDeviceResetAfter, rememberPolicy, unlockCounted, watchForeground } from "./security.ts";

export type MessageStatus = "sending" | "sent" | "failed" | "read" | "received";

export interface LocalMessage {
  id: string;
  conversationId: string;
  senderUserId: string;
  kind: "text" | "location" | "notice" | "file";
  text?: string;
  /** kind "file": the 6000 content (name, size, key, hashes); kept only inside the encrypted vault. */
  file?: FileContent;
  /** Upload progress of a file being sent, 0..1. */
  progress?: number;
  links?: { url: string }[];
  location?: LocationContent;
  sentAt: number;
  /** Effective expiration in seconds from sentAt (0: never). */
  ttl: number;
  /** Burn-on-read seconds from readAt (0: none). */
  bor: number;
  readAt?: number;
  status: MessageStatus;
  error?: string;
  /** Not sent because the server was unreachable: it goes out by itself once connected again. */
  queued?: boolean;
  edited?: boolean;
  starred?: boolean;
}

export interface Member {
  userId: string;
  role: "member" | "moderator";
}

export interface Conversation {
  id: string;
  kind: "direct" | "group" | "room";
  title: string;
  description: string;
  ttl: number;
  bor: number;
  members: Member[];
  unread: number;
  pinned: boolean;
  lastAt: number;
}

interface SavedData {
  conversations: Conversation[];
  messages: LocalMessage[];
  usernames: Record<string, string>;
  /** Keys of files in rooms' Files areas, by entry id (from 4004 messages with changemask 64, or our own uploads). */
  roomFiles?: Record<string, FileContent>;
  /** The security group's rules as last heard from the server: lets the device start offline. */
  policy?: ClientPolicy;
}

export type Screen = "loading" | "onboarding" | "unlock" | "main";

export const screen = signal<Screen>("loading");
export const me = signal<{ userId: string; username: string } | null>(null);
export const connected = signal(false);
export const conversations = signal<Conversation[]>([]);
export const messages = signal<LocalMessage[]>([]);
export const roomFiles = signal<Record<string, RoomFileKey>>({});
export const usernames = signal<Record<string, string>>({});
export const currentId = signal<string | null>(null);
export const typing = signal<Record<string, { userId: string; until: number }>>({});
export const presence = signal<Record<string, string>>({});
export const notice = signal<string | null>(null);
export const clearNotice = () => (notice.value = null);
export const now = signal(Date.now());
export const policy = signal<OutpostClient["policy"]>(undefined);

export const current = computed(() => conversations.value.find((c) => c.id === currentId.value) ?? null);
export const sortedConversations = computed(() =>
  [...conversations.value].sort((a, b) => Number(b.pinned) - Number(a.pinned) || b.lastAt - a.lastAt || a.title.localeCompare(b.title)),
);

let client: OutpostClient | null = null;
let vault: Vault | null = null;
const sealed = new Map<string, Uint8Array>();
let saveTimer: ReturnType<typeof setTimeout> | undefined;
let ticker: ReturnType<typeof setInterval> | undefined;
let stopWatching = () => {};

export function sdk(): OutpostClient {
  if (!client) throw new Error("not signed in");
  return client;
}

export function nameOf(userId: string): string {
  if (userId === me.value?.userId) return "You";
  return usernames.value[userId] ?? "someone";
}

export function conversationTitle(c: Conversation): string {
  if (c.kind !== "direct") return c.title || (c.kind === "room" ? "Untitled room" : c.members.filter((m) => m.userId !== me.value?.userId).map((m) => nameOf(m.userId)).join(", ") || "Group");
  const other = c.members.find((m) => m.userId !== me.value?.userId);
  return other ? nameOf(other.userId) : "Direct message";
}

/** Expiration as received: a packet's 0 means "the security group's maximum". */
function effectiveTtl(ttl: number): number {
  return ttl === 0 ? (client?.policy?.maxExpirationSeconds ?? 0) : ttl;
}

// ------------------------------------------------------------------ persistence

function scheduleSave() {
  if (saveTimer) return;
  saveTimer = setTimeout(() => {
    saveTimer = undefined;
    void saveNow();
  }, 250);
}

/** Saves run one after another: one still writing when the app locks must not meet a closed vault. */
let saving: Promise<void> = Promise.resolve();

export function saveNow(): Promise<void> {
  saving = saving.then(save);
  return saving;
}

async function save() {
  // This save's vault and client, whatever lock() does meanwhile.
  const v = vault;
  const c = client;
  if (!v || !c) return;
  const data: SavedData = { conversations: conversations.value, messages: messages.value.filter((m) => m.status !== "sending"), usernames: usernames.value, roomFiles: roomFiles.value, ...(c.policy ? { policy: c.policy } : {}) };
  try {
    await v.put("device", c.exportState());
    await v.put("data", data);
  } catch (e) {
    notice.value = `This device could not save its messages: ${e instanceof Error ? e.message : String(e)}`;
  }
}

// ------------------------------------------------------------------ start-up

export async function boot() {
  const existing = await Vault.existing().catch(() => null);
  screen.value = existing ? "unlock" : "onboarding";
  return existing;
}

let holdingDeviceLock = false;

/**
 * One tab per browser runs the device: two would share one relay cursor and overwrite each
 * other's vault. The lock is held until the page closes.
 */
async function claimDevice(): Promise<void> {
  if (holdingDeviceLock || !navigator.locks) return;
  const got = await new Promise<boolean>((resolve) => {
    void navigator.locks.request("outpost-device", { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? new Promise<void>(() => undefined) : undefined;
    });
  });
  if (!got) throw new Error("Outpost is already open in another tab or window of this browser: use that one, or close it and try again.");
  holdingDeviceLock = true;
}

/** The password given at a first registration, while the offer to replace it is open. */
export const passwordOffer = signal<string | null>(null);

export async function register(config: ClientConfig, username: string, password: string, syncCode?: string) {
  await claimDevice();
  // 30 one-time prekeys rather than the SDK's 100: a third of the upload on a slow link; the
  // SDK tops them up as they are used.
  const c = await OutpostClient.register({ config, username, password, deviceName: browserName(), prekeyCount: 30, ...(syncCode ? { syncCode } : {}) });
  let data: SavedData = { conversations: [], messages: [], usernames: {} };
  let problem: string | null = null;
  if (syncCode) {
    // The other device may have left its history with the code: take it (once) and keep it.
    try {
      const h = await c.takeSyncHistory(syncCode);
      if (h) data = fromHistory(h);
    } catch (e) {
      problem = `The history from your other device could not be brought over: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  vault = await Vault.create(password, c.username);
  await vault.put("device", c.exportState());
  await vault.put("data", data);
  // A user's first device (no sync code) may replace the administrator's password with their own.
  if (!syncCode && c.policy?.passwordChange.allowed) passwordOffer.value = password;
  await start(c, data);
  if (problem) notice.value = problem;
}

/**
 * A sync code for a new device of this user. With history, this device's conversations,
 * messages (expired and burned ones stay behind; timers travel), usernames and room file keys
 * go with it, sealed under the code. Returns the code and how many messages it carries.
 */
export async function createSyncCode(withHistory: boolean): Promise<{ code: string; messages: number }> {
  const c = sdk();
  if (!withHistory) return { code: await c.createSyncCode(), messages: 0 };
  const kept = liveMessages(
    messages.value.filter((m) => (m.status === "sent" || m.status === "received" || m.status === "read") && !m.queued).map(({ progress: _, ...m }) => m) as SyncHistoryMessage[],
  );
  const history: SyncHistory = {
    conversations: conversations.value.map((x) => ({ ...x })),
    messages: kept,
    usernames: usernames.value,
    roomFiles: roomFiles.value,
  };
  return { code: await c.createSyncCode({ history }), messages: kept.length };
}

/** The archive was sealed by the user's own device and checked by the SDK; the fields the screens rely on are still normalised. */
function fromHistory(h: SyncHistory): SavedData {
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const conversations: Conversation[] = h.conversations.map((x) => ({
    id: x.id,
    kind: x.kind === "group" || x.kind === "room" ? x.kind : "direct",
    title: str(x.title),
    description: str(x.description),
    ttl: num(x.ttl),
    bor: num(x.bor),
    members: Array.isArray(x.members) ? (x.members as Member[]) : [],
    unread: num(x.unread),
    pinned: x.pinned === true,
    lastAt: num(x.lastAt),
  }));
  const known = new Set(conversations.map((x) => x.id));
  const kinds = new Set(["text", "location", "notice", "file"]);
  const msgs = h.messages
    .filter((m) => known.has(m.conversationId) && kinds.has(m.kind as string) && typeof m.senderUserId === "string")
    .map((m) => ({ ...m, status: m.status === "read" || m.status === "received" ? m.status : "sent" }) as unknown as LocalMessage);
  return { conversations, messages: msgs, usernames: h.usernames, roomFiles: h.roomFiles as Record<string, FileContent> };
}

/**
 * Opens the vault with the password and starts the device from what it holds: nothing from
 * the server is needed, so this works offline (the relay connection is made in the background).
 */
export async function unlock(password: string) {
  await claimDevice();
  let v: Vault;
  try {
    v = await unlockCounted(password);
  } catch (e) {
    if (e instanceof DeviceErased) screen.value = "onboarding";
    throw e;
  }
  const state = await v.get<DeviceState>("device");
  if (!state) throw new Error("this device's keys are missing; sign in again");
  vault = v;
  const data = (await v.get<SavedData>("data")) ?? { conversations: [], messages: [], usernames: {} };
  const c = await OutpostClient.restore(state, { policy: data.policy ?? (await policyOrOffline(state)) });
  await start(c, data);
}

/**
 * A vault saved before policies were kept: ask the server; when it cannot be reached, start
 * with a policy that allows nothing optional (the relay's ready frame replaces it, and
 * nothing is sent before that).
 */
async function policyOrOffline(state: DeviceState): Promise<ClientPolicy> {
  try {
    const me = await fetch(`${state.config.serviceUrl.replace(/\/$/, "")}/api/client/v1/me`, { headers: { authorization: `Bearer ${state.deviceId}.${state.token}` } });
    if (me.ok) return ((await me.json()) as { policy: ClientPolicy }).policy;
  } catch {
    /* unreachable: offline start */
  }
  return {
    maxExpirationSeconds: 0,
    quickResponses: [],
    locationSharing: false,
    linkPreviews: false,
    presence: false,
    previewNotifications: false,
    readReceipts: false,
    complianceDeviceId: null,
    attachments: false,
    maxUploadBytes: 0,
    alwaysReauthenticate: false,
    passwordChange: { allowed: false, rule: { minLength: 10, requireLower: true, requireUpper: true, requireDigit: true, requireSymbol: false } },
    // The count the locked app already enforces stays as it was.
    deviceResetAfter: keptDeviceResetAfter(),
  };
}

export async function lock() {
  stopWatching();
  passwordOffer.value = null;
  clearTimeout(saveTimer);
  saveTimer = undefined;
  await saveNow();
  // Gone from the module first, so nothing started meanwhile writes to a vault being closed.
  const c = client;
  const v = vault;
  client = null;
  vault = null;
  await c?.close();
  v?.close();
  clearInterval(ticker);
  conversations.value = [];
  messages.value = [];
  roomFiles.value = {};
  currentId.value = null;
  me.value = null;
  screen.value = "unlock";
}

/** Changes the account password on the server, then re-encrypts this device's vault under it. */
export async function changePassword(current: string, next: string) {
  await sdk().api.call("POST", "/api/client/v1/me/password", { currentPassword: current, newPassword: next });
  await saveNow();
  await vault!.rekey(next);
}

/** Removes this device's keys and history from the browser. */
export async function forgetDevice() {
  await client?.close();
  vault?.close();
  client = null;
  vault = null;
  await Vault.erase();
  location.hash = "";
  location.reload();
}

function browserName() {
  const ua = navigator.userAgent;
  const b = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : /Chrom/.test(ua) ? "Chromium" : /Safari\//.test(ua) ? "Safari" : "Browser";
  return `${b} (web)`;
}

async function start(c: OutpostClient, data: SavedData) {
  client = c;
  me.value = { userId: c.userId, username: c.username };
  usernames.value = { ...data.usernames, [c.userId]: c.username };
  conversations.value = data.conversations;
  messages.value = data.messages;
  roomFiles.value = data.roomFiles ?? {};
  policy.value = c.policy;
  rememberPolicy(c.policy);
  stopWatching = watchForeground(() => policy.value, () => void lock());
  attachCalls(c);
  // In arrival order: a message of an unknown conversation waits for the conversation to be read.
  let chain = Promise.resolve();
  c.on("message", (e) => {
    chain = chain.then(() => onMessage(e.message)).catch((err) => {
      notice.value = `A message could not be shown: ${err instanceof Error ? err.message : String(err)}`;
    });
  });
  c.on("connected", () => {
    connected.value = true;
    policy.value = c.policy;
    rememberPolicy(c.policy);
    announcePresence();
    // Back online (or online at last): catch up on conversations, then send what waited.
    void catchUp(c);
  });
  c.on("disconnected", () => (connected.value = false));
  c.on("typing", (e) => (typing.value = { ...typing.value, [e.conversationId]: { userId: e.userId, until: Date.now() + 4000 } }));
  c.on("presence", (e) => (presence.value = { ...presence.value, [e.userId]: e.status }));
  c.on("receipt", (e) => {
    const ids = new Set(e.packetIds);
    update((m) => (ids.has(m.id) && m.senderUserId === c.userId ? { ...m, status: "read", readAt: m.readAt ?? Date.now() } : m));
  });
  c.on("expired", (e) => removeMessages((m) => m.id === e.packetId));
  c.on("burned", (e) => removeMessages((m) => m.id === e.packetId));
  ticker = setInterval(tick, 1000);
  tick();
  screen.value = "main";
  // The relay connection is made in the background and kept: the SDK retries with a backoff
  // (100 ms doubling to 5 s), and at once when the browser says it is online again or the
  // page comes back to the front.
  c.maxReconnectDelayMs = 5000;
  watchNetwork();
  // The list is read over REST at once, beside the relay's handshake: on a slow link those
  // round trips are most of the wait for a usable screen.
  earlyRead = refreshConversations().then(
    () => true,
    () => false,
  );
  c.connect().catch((e: unknown) => {
    if (client === c) notice.value = `Not connected: ${e instanceof Error ? e.message : String(e)}`;
  });
}

let watching = false;
function watchNetwork() {
  if (watching) return;
  watching = true;
  addEventListener("online", () => client?.reconnectNow());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") client?.reconnectNow();
  });
}

let catchingUp: Promise<void> | null = null;
/** The list read started with the app; the first connection uses it instead of reading again. */
let earlyRead: Promise<boolean> | null = null;
/** After each (re)connection: reads the conversation list again, then sends the messages that waited. */
function catchUp(c: OutpostClient): Promise<void> {
  catchingUp ??= (async () => {
    try {
      const early = earlyRead;
      earlyRead = null;
      if (!(early && (await early))) await refreshConversations();
    } catch (e) {
      if (client === c && c.connected) notice.value = `Conversations could not be updated: ${e instanceof Error ? e.message : String(e)}`;
    }
    for (const m of messages.value.filter((x) => x.queued && x.status === "failed" && x.kind !== "file" && x.senderUserId === c.userId).sort((a, b) => a.sentAt - b.sentAt)) {
      if (client !== c || !c.connected) break;
      await retry(m.id);
    }
  })().finally(() => (catchingUp = null));
  return catchingUp;
}

/** Expiration and burn-on-read: removes due messages from the screen and from the vault. */
function tick() {
  const t = Date.now();
  now.value = t;
  removeMessages((m) => (m.ttl > 0 && m.sentAt + m.ttl * 1000 <= t) || (m.bor > 0 && m.readAt !== undefined && m.readAt + m.bor * 1000 <= t));
  const ty = typing.value;
  if (Object.values(ty).some((v) => v.until <= t)) typing.value = Object.fromEntries(Object.entries(ty).filter(([, v]) => v.until > t));
}

function removeMessages(pred: (m: LocalMessage) => boolean) {
  const before = messages.value;
  const after = before.filter((m) => !pred(m));
  if (after.length !== before.length) {
    messages.value = after;
    scheduleSave();
  }
}

function update(fn: (m: LocalMessage) => LocalMessage) {
  messages.value = messages.value.map(fn);
  scheduleSave();
}

function addMessage(m: LocalMessage) {
  if (messages.value.some((x) => x.id === m.id)) return;
  messages.value = [...messages.value, m];
  const open = currentId.value === m.conversationId && document.visibilityState === "visible";
  patchConversation(m.conversationId, (c) => ({ ...c, lastAt: Math.max(c.lastAt, m.sentAt), unread: m.senderUserId !== me.value?.userId && m.kind !== "notice" && !open ? c.unread + 1 : c.unread }));
  if (open && m.senderUserId !== me.value?.userId) markRead(m.conversationId);
  if (m.senderUserId !== me.value?.userId && m.kind !== "notice" && m.status === "received") notifyIncoming(m);
  scheduleSave();
}

/** A notification for a message that arrives while the app is in the background (content only where the group allows it). */
function notifyIncoming(m: LocalMessage) {
  const c = conversations.value.find((x) => x.id === m.conversationId);
  const from = nameOf(m.senderUserId);
  const title = !c || c.kind === "direct" ? from : conversationTitle(c);
  let body = c && c.kind !== "direct" ? `New message from ${from}` : "New message";
  if (policy.value?.previewNotifications) {
    const what = m.kind === "file" ? `File: ${m.file?.name ?? ""}` : m.kind === "location" ? "Location" : (m.text ?? "").slice(0, 140);
    body = c && c.kind !== "direct" ? `${from}: ${what}` : what;
  }
  void notify(title, body, m.conversationId).catch(() => undefined);
}

function patchConversation(id: string, fn: (c: Conversation) => Conversation) {
  conversations.value = conversations.value.map((c) => (c.id === id ? fn(c) : c));
}

// ------------------------------------------------------------------ presence

let myStatus: "available" | "busy" | "away" = "available";

/** The relay passes presence only to users sharing a conversation at that moment: it is announced again on connecting and when a conversation appears. */
function announcePresence() {
  if (!client?.policy?.presence || !connected.value) return;
  try {
    client.setPresence(myStatus);
  } catch {
    /* presence is best effort */
  }
}

export function setPresence(status: "available" | "busy" | "away") {
  myStatus = status;
  sdk().setPresence(status);
}

// ------------------------------------------------------------------ conversations

async function learnNames(userIds: string[]) {
  const missing = [...new Set(userIds)].filter((id) => !usernames.value[id]);
  if (missing.length === 0) return;
  const found = await sdk().lookupUsers({ userIds: missing });
  usernames.value = { ...usernames.value, ...Object.fromEntries(found.map((u) => [u.userId, u.username])) };
}

/** A browser opens at most six connections to one host: more in flight would only queue. */
const PARALLEL_FETCHES = 6;

async function eachLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Reads the conversation list. On a slow link every round trip counts (300 ms on a field
 * radio): the list shows at once from the summaries, the details follow six at a time, and
 * the names of everyone in them come in one directory lookup.
 */
export async function refreshConversations() {
  const c = sdk();
  const summaries: { id: string; kind: string; title: string }[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await c.listConversations({ limit: 200, ...(after ? { after } : {}) });
    summaries.push(...page.items);
    if (!page.next) break;
    after = page.next;
  }
  const known = new Set(summaries.map((x) => x.id));
  // Conversations this user no longer belongs to disappear with their history.
  const kept = conversations.value.filter((x) => known.has(x.id));
  const have = new Set(kept.map((x) => x.id));
  const fresh = summaries
    .filter((x) => !have.has(x.id))
    .map((x): Conversation => ({ id: x.id, kind: x.kind === "room" || x.kind === "group" ? x.kind : "direct", title: x.title, description: "", ttl: 0, bor: 0, members: [], unread: 0, pinned: false, lastAt: 0 }));
  conversations.value = [...kept, ...fresh];
  messages.value = messages.value.filter((m) => known.has(m.conversationId));
  const views = await eachLimited([...known], PARALLEL_FETCHES, (id) => fetchConversation(id));
  await learnNames(views.flatMap((v) => v?.members.map((m) => m.userId) ?? []));
  for (const v of views) if (v) applyConversation(v);
  announcePresence();
  scheduleSave();
}

function dropConversation(id: string) {
  conversations.value = conversations.value.filter((c) => c.id !== id);
  messages.value = messages.value.filter((m) => m.conversationId !== id);
  if (currentId.value === id) currentId.value = null;
  scheduleSave();
}

type ConversationView = Awaited<ReturnType<OutpostClient["conversation"]>>;

/** The server's view of a conversation; null (and the conversation dropped) when this user is no longer in it. */
async function fetchConversation(id: string): Promise<ConversationView | null> {
  try {
    return await sdk().conversation(id, 0);
  } catch (e) {
    if (e instanceof OutpostError && (e.status === 403 || e.status === 404)) {
      dropConversation(id);
      return null;
    }
    throw e;
  }
}

function applyConversation(view: ConversationView): Conversation {
  const prev = conversations.value.find((c) => c.id === view.id);
  const next: Conversation = {
    id: view.id,
    kind: view.kind,
    title: view.title,
    description: view.description,
    ttl: view.ttl,
    bor: view.bor,
    members: view.members,
    unread: prev?.unread ?? 0,
    pinned: prev?.pinned ?? false,
    lastAt: prev?.lastAt ?? 0,
  };
  conversations.value = prev ? conversations.value.map((c) => (c.id === view.id ? next : c)) : [...conversations.value, next];
  return next;
}

export async function refreshConversation(id: string): Promise<Conversation | null> {
  const view = await fetchConversation(id);
  if (!view) return null;
  await learnNames(view.members.map((m) => m.userId));
  const isNew = !conversations.value.some((c) => c.id === id && c.members.length > 0);
  const next = applyConversation(view);
  if (isNew) announcePresence();
  scheduleSave();
  return next;
}

export async function findUser(username: string) {
  const [u] = await sdk().lookupUsers({ usernames: [username.trim()] });
  if (!u) throw new OutpostError("not_found", `nobody called "${username.trim()}" in this network`);
  usernames.value = { ...usernames.value, [u.userId]: u.username };
  return u;
}

export async function openDirect(username: string) {
  const u = await findUser(username);
  const view = await sdk().openDirect({ userId: u.userId });
  await refreshConversation(view.id);
  currentId.value = view.id;
}

export async function createGroupOrRoom(kind: "group" | "room", input: { title: string; description: string; members: string[]; ttl: number; bor: number }) {
  const ids: string[] = [];
  for (const name of input.members) ids.push((await findUser(name)).userId);
  const opts = { ...(input.ttl ? { ttl: input.ttl } : {}), ...(input.bor ? { bor: input.bor } : {}) };
  const view =
    kind === "room"
      ? await sdk().createRoom({ title: input.title, ...(input.description ? { description: input.description } : {}), memberIds: ids, ...opts })
      : await sdk().createGroup(ids, { ...(input.title ? { title: input.title } : {}), ...opts });
  await refreshConversation(view.id);
  currentId.value = view.id;
}

export async function updateSettings(id: string, patch: { title?: string; description?: string; ttl?: number; bor?: number }) {
  await sdk().updateConversation(id, patch);
  await refreshConversation(id);
}

export async function changeMembers(id: string, change: { add?: string[]; remove?: string[]; moderators?: string[] }) {
  keys(); // members added to a room get the Files-area keys this device holds (SDK hook)
  await sdk().changeMembers(id, change);
  await refreshConversation(id);
}

export async function leaveConversation(id: string, remove: boolean) {
  if (remove) await sdk().deleteRoom(id);
  else await sdk().leave(id);
  conversations.value = conversations.value.filter((c) => c.id !== id);
  messages.value = messages.value.filter((m) => m.conversationId !== id);
  currentId.value = null;
  scheduleSave();
}

export async function setPinned(id: string, pinned: boolean) {
  patchConversation(id, (c) => ({ ...c, pinned }));
  scheduleSave();
  await sdk().pinConversation(id, pinned).catch(ignoreAlone);
}

/** Private properties go to the user's other devices; with none, there is nothing to tell. */
function ignoreAlone(e: unknown) {
  if (!(e instanceof OutpostError && e.code === "no_recipients")) throw e;
}

export function openConversation(id: string | null) {
  currentId.value = id;
  if (id) markRead(id);
}

export function markRead(id: string) {
  const c = client;
  if (!c) return;
  const t = Date.now();
  const unreadIds: string[] = [];
  messages.value = messages.value.map((m) => {
    if (m.conversationId !== id || m.senderUserId === c.userId || m.readAt !== undefined || m.kind === "notice") return m;
    unreadIds.push(m.id);
    return { ...m, readAt: t };
  });
  patchConversation(id, (x) => ({ ...x, unread: 0 }));
  if (unreadIds.length) {
    try {
      c.markRead(id, unreadIds);
    } catch {
      /* receipts are best effort while offline */
    }
    scheduleSave();
  }
}

// ------------------------------------------------------------------ receiving

async function onMessage(m: ReceivedMessage) {
  const c = m.content as Record<string, unknown> | null;
  const conv = conversations.value.find((x) => x.id === m.conversationId);
  if (!conv && m.type !== MessageType.deleteRoom && !(await refreshConversation(m.conversationId))) return;
  switch (m.type) {
    case MessageType.text:
    case MessageType.location: {
      const isText = m.type === MessageType.text;
      addMessage({
        id: m.packetId,
        conversationId: m.conversationId,
        senderUserId: m.senderUserId,
        kind: isText ? "text" : "location",
        ...(isText ? { text: String(c?.text ?? ""), links: extractLinks(String(c?.text ?? "")) } : { location: c as unknown as LocationContent }),
        sentAt: m.sentAt,
        ttl: effectiveTtl(m.ttl),
        bor: m.bor,
        status: m.senderUserId === me.value?.userId ? "sent" : "received",
      });
      return;
    }
    case MessageType.file: {
      let file: FileContent;
      try {
        file = fileContentOf(c);
      } catch {
        return; // not a file description: nothing to show or download
      }
      addMessage({ id: m.packetId, conversationId: m.conversationId, senderUserId: m.senderUserId, kind: "file", file, sentAt: m.sentAt, ttl: effectiveTtl(m.ttl), bor: m.bor, status: m.senderUserId === me.value?.userId ? "sent" : "received" });
      return;
    }
    case MessageType.edit: {
      const id = String(c?.originalmessageid ?? "");
      update((x) =>
        x.id === id && x.senderUserId === m.senderUserId
          ? c?.type === "location"
            ? { ...x, location: c.location as LocationContent, edited: true }
            : { ...x, text: String(c?.text ?? ""), links: extractLinks(String(c?.text ?? "")), edited: true }
          : x,
      );
      return;
    }
    case MessageType.deleteOrRecall: {
      const id = String(c?.msgid ?? "");
      removeMessages((x) => x.id === id && (c?.isrecall !== true || x.senderUserId === m.senderUserId));
      return;
    }
    case MessageType.star: {
      if (m.senderUserId !== me.value?.userId) return;
      const attrs = (c?.attributes as { msgid: string; isstarred: boolean }[] | undefined) ?? [];
      update((x) => {
        const a = attrs.find((y) => y.msgid === x.id);
        return a ? { ...x, starred: a.isstarred } : x;
      });
      return;
    }
    case MessageType.pin:
      if (m.senderUserId === me.value?.userId) patchConversation(m.conversationId, (x) => ({ ...x, pinned: c?.pinned === true }));
      scheduleSave();
      return;
    case MessageType.verification:
      addMessage({ id: m.packetId, conversationId: m.conversationId, senderUserId: m.senderUserId, kind: "notice", text: `${nameOf(m.senderUserId)} asked to compare safety numbers`, sentAt: m.sentAt, ttl: effectiveTtl(m.ttl), bor: 0, status: "received" });
      return;
    case MessageType.roomFileKeyRequest:
      // Answered off the message chain: the answer waits on the server, later messages need not.
      void keys().receive(m).catch(() => undefined);
      return;
    default:
      if (m.type >= MessageType.createRoom && m.type <= MessageType.deleteRoom) {
        // A room's deletion and this user's removal are announced before the server applies
        // them, so reading the conversation again could still find it: the notice decides,
        // when it comes from one of the room's moderators.
        const ctl = (c?.control ?? {}) as Record<string, unknown>;
        if (m.type === MessageType.roomParameters && c?.changemask === 64) return onRoomFile(m);
        const byModerator = conv?.members.some((x) => x.userId === m.senderUserId && x.role === "moderator") ?? false;
        const removesMe = m.type === MessageType.roomMembers && Array.isArray(ctl.deletedusers) && ctl.deletedusers.includes(me.value?.userId);
        if (byModerator && (m.type === MessageType.deleteRoom || removesMe)) return dropConversation(m.conversationId);
        // Membership or settings changed: read the conversation again and say so in it.
        const view = await refreshConversation(m.conversationId);
        if (view) addMessage({ id: m.packetId, conversationId: m.conversationId, senderUserId: m.senderUserId, kind: "notice", text: describeControl(m.type, c, m.senderUserId), sentAt: m.sentAt, ttl: 0, bor: 0, status: "received" });
      }
  }
}

/** Files-area keys live in the roomFiles signal (saved in the vault) and are exchanged by the SDK's room-keys module. */
const roomKeyStore: RoomKeyStore = {
  get: (id) => roomFiles.value[id],
  set: (id, key) => {
    roomFiles.value = { ...roomFiles.value, [id]: key };
    scheduleSave();
  },
  delete: (id) => {
    const { [id]: _gone, ...rest } = roomFiles.value;
    roomFiles.value = rest;
    scheduleSave();
  },
  entries: () => Object.entries(roomFiles.value),
};
function keys() {
  return roomKeys(sdk(), { store: roomKeyStore }).enable({ listen: false });
}

/**
 * Keys of Files-area entries (a new file, or keys handed over or answered by a member): kept
 * only after the SDK's checks against the room's list; a new file is said in the conversation.
 */
async function onRoomFile(m: ReceivedMessage) {
  // Unverifiable now (Files area switched off, server unreachable): not kept; the area asks again when shown.
  const kept = await keys()
    .receive(m)
    .catch(() => []);
  if ((m.content as { resent?: unknown }).resent === true) return;
  for (const [i, k] of kept.entries()) {
    addMessage({ id: i === 0 ? m.packetId : `${m.packetId}:${k.entryId}`, conversationId: m.conversationId, senderUserId: m.senderUserId, kind: "notice", text: `${nameOf(m.senderUserId)} added ${k.content.name} to the Files area`, sentAt: m.sentAt, ttl: 0, bor: 0, status: "received" });
  }
}

/**
 * Asks the room's members for the keys of listed file entries this device lacks (once per entry
 * per few minutes; holders answer this device only). Keys kept before rooms were recorded with
 * them learn their room here, so this device can answer others' requests for them too.
 */
const keyAsked = new Map<string, number>();
const ASK_AGAIN_MS = 3 * 60_000;
export function requestRoomKeys(roomId: string, entries: RoomFileEntry[]) {
  const t = Date.now();
  const ask: string[] = [];
  for (const e of entries) {
    if (e.kind !== "file") continue;
    const k = roomFiles.value[e.id];
    if (k && !k.roomid && k.fileid === e.fileId) roomKeyStore.set(e.id, { ...k, roomid: roomId });
    if (!k && t - (keyAsked.get(e.id) ?? 0) >= ASK_AGAIN_MS) ask.push(e.id);
  }
  if (ask.length === 0) return;
  for (const id of ask) keyAsked.set(id, t);
  // Alone in the room, or offline: asked again next time the area is shown after the interval.
  void keys().requestKeys(roomId, ask).catch(() => ask.forEach((id) => keyAsked.delete(id)));
}

// ------------------------------------------------------------------ a room's Files area

export type { RoomFileEntry };

/** Whether the room's Files area is available (the network's file management switch); asked once per room. */
const filesAreaKnown = new Map<string, boolean>();
export async function filesAreaAvailable(roomId: string): Promise<boolean> {
  const known = filesAreaKnown.get(roomId);
  if (known !== undefined) return known;
  try {
    await files(sdk()).listRoomFiles(roomId, { limit: 1 });
    filesAreaKnown.set(roomId, true);
    return true;
  } catch (e) {
    if (e instanceof OutpostError && e.code === "forbidden") {
      filesAreaKnown.set(roomId, false);
      return false;
    }
    throw e;
  }
}

export async function listRoomEntries(roomId: string, parentId: string | null, after?: string) {
  return files(sdk()).listRoomFiles(roomId, { ...(parentId ? { parentId } : {}), limit: 100, ...(after ? { after } : {}) });
}

export async function newRoomFolder(roomId: string, name: string, parentId: string | null) {
  return files(sdk()).createFolder(roomId, name, parentId ?? undefined);
}

export async function uploadToRoom(roomId: string, file: File, parentId: string | null, onProgress: (fraction: number) => void) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const k = keys();
  const { entry, content } = await files(sdk()).uploadToRoom(roomId, { name: file.name, bytes, ...(file.type ? { mimetype: file.type } : {}) }, { ...(parentId ? { parentId } : {}), onProgress: (p) => onProgress(p.total ? p.done / p.total : 1) });
  k.remember(roomId, entry.id, content);
  return entry;
}

export async function renameRoomEntry(roomId: string, entryId: string, name: string) {
  return files(sdk()).updateRoomEntry(roomId, entryId, { name });
}

export async function deleteRoomEntry(roomId: string, entryId: string) {
  return files(sdk()).deleteRoomEntry(roomId, entryId);
}

export async function downloadRoomFile(entry: RoomFileEntry, onProgress: (fraction: number) => void): Promise<Blob> {
  const roomId = roomFiles.value[entry.id]?.roomid;
  const content = keys().get(entry.id);
  if (!content) throw new Error("Waiting for the key from a room member…");
  let bytes: Uint8Array;
  try {
    bytes = await keys().download(entry.id, { onProgress: (p) => onProgress(p.total ? p.done / p.total : 1) });
  } catch (e) {
    // A key that does not fit the file was dropped by the SDK: ask the room for the right one.
    if (e instanceof OutpostError && e.code === "integrity" && roomId && !roomFiles.value[entry.id]) {
      keyAsked.delete(entry.id);
      requestRoomKeys(roomId, [entry]);
    }
    throw e;
  }
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: content.mimetype || "application/octet-stream" });
}

function describeControl(type: number, content: Record<string, unknown> | null, sender: string): string {
  const who = nameOf(sender);
  const ctl = (content?.control ?? {}) as Record<string, unknown>;
  if (type === MessageType.createRoom) return `${who} created this conversation`;
  if (type === MessageType.leaveRoom) return `${who} left`;
  if (type === MessageType.deleteRoom) return `${who} deleted this room`;
  if (type === MessageType.roomMembers) {
    const parts: string[] = [];
    const names = (v: unknown) => ((v as string[] | undefined) ?? []).map(nameOf).join(", ");
    if ((ctl.addedusers as string[] | undefined)?.length) parts.push(`added ${names(ctl.addedusers)}`);
    if ((ctl.deletedusers as string[] | undefined)?.length) parts.push(`removed ${names(ctl.deletedusers)}`);
    if ((ctl.masters as string[] | undefined)?.length) parts.push(`made ${names(ctl.masters)} moderator`);
    return `${who} ${parts.join("; ") || "changed the members"}`;
  }
  const changed = ["title", "description", "ttl", "bor"].filter((k) => k in ctl).map((k) => ({ title: "the title", description: "the description", ttl: "the expiration", bor: "burn-on-read" })[k]);
  return `${who} changed ${changed.join(", ") || "the settings"}`;
}

// ------------------------------------------------------------------ sending

const SEND_TIMEOUT_MS = 15_000;

async function deliver(local: LocalMessage, type: 1000 | 8000, content: unknown) {
  const c = sdk();
  const conv = conversations.value.find((x) => x.id === local.conversationId);
  let packetId = local.id;
  try {
    let packet = sealed.get(local.id);
    if (!packet) {
      const s = await c.seal(local.conversationId, type as never, content, { ...(conv?.ttl ? { ttl: conv.ttl } : {}), ...(conv?.bor ? { bor: conv.bor } : {}) });
      packet = s.packet;
      packetId = s.packetId;
      sealed.set(packetId, packet);
      messages.value = messages.value.map((m) => (m.id === local.id ? { ...m, id: packetId, status: "sending", error: undefined, queued: undefined, ttl: effectiveTtl(conv?.ttl ?? 0), sentAt: Date.now() } : m));
    } else {
      update((m) => (m.id === packetId ? { ...m, status: "sending", error: undefined, queued: undefined } : m));
    }
    const acked = c.sendPacket(packetId, packet).then(() => {
      sealed.delete(packetId);
      update((m) => (m.id === packetId && m.status !== "read" ? { ...m, status: "sent", error: undefined, queued: undefined } : m));
    });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new OutpostError("timeout", "not delivered yet: the server did not confirm it")), SEND_TIMEOUT_MS));
    await Promise.race([acked, timeout]);
  } catch (e) {
    if (e instanceof OutpostError && e.code !== "timeout") sealed.delete(packetId);
    // Unreachable server (a request failed, or the relay is disconnected): the message waits in
    // the vault and goes out by itself after the reconnection. An unconfirmed packet (timeout)
    // is also tried again then (same packet: the relay recognises a repeat).
    const offline = !c.connected || e instanceof TypeError;
    const msg = offline ? "offline; it is sent when the connection is back" : e instanceof Error ? e.message : String(e);
    const waiting = offline || (e instanceof OutpostError && e.code === "timeout");
    update((m) => (m.id === packetId ? { ...m, status: "failed", error: msg, queued: waiting } : m));
  }
}

function newLocal(conversationId: string, kind: "text" | "location" | "file"): LocalMessage {
  const conv = conversations.value.find((x) => x.id === conversationId);
  return { id: `local-${crypto.randomUUID()}`, conversationId, senderUserId: me.value!.userId, kind, sentAt: Date.now(), ttl: effectiveTtl(conv?.ttl ?? 0), bor: conv?.bor ?? 0, status: "sending" };
}

export async function sendText(conversationId: string, text: string) {
  const local: LocalMessage = { ...newLocal(conversationId, "text"), text, links: extractLinks(text) };
  addMessage(local);
  await deliver(local, 1000, { text, links: extractLinks(text) });
}

export async function sendLocation(conversationId: string, location: LocationContent) {
  const local: LocalMessage = { ...newLocal(conversationId, "location"), location };
  addMessage(local);
  await deliver(local, 8000, location);
}

/**
 * Encrypts and uploads a file (progress shown on its message; a dropped connection is
 * retried chunk by chunk by the SDK, so the upload resumes where it stopped), then sends
 * the 6000 message that carries its key.
 */
export async function sendFile(conversationId: string, file: File) {
  const local: LocalMessage = { ...newLocal(conversationId, "file"), file: { fileid: "", name: file.name, size: file.size, key: "", chunksize: 0, chunkhashes: [], sha256: "" }, progress: 0 };
  addMessage(local);
  await uploadFile(local.id, { file });
}

/** Files whose upload failed in this session: Retry continues the server-side upload (chunks already there are skipped). */
const pendingUploads = new Map<string, { file: File; handle?: UploadHandle }>();

export function canResume(id: string): boolean {
  return pendingUploads.has(id);
}

async function uploadFile(id: string, pending: { file: File; handle?: UploadHandle }) {
  const conversationId = messages.value.find((m) => m.id === id)!.conversationId;
  const conv = conversations.value.find((x) => x.id === conversationId);
  update((m) => (m.id === id ? { ...m, status: "sending", error: undefined } : m));
  pendingUploads.delete(id);
  try {
    const { file } = pending;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const sent = await files(sdk()).sendFile(conversationId, { name: file.name, bytes, ...(file.type ? { mimetype: file.type } : {}) }, {
      ...(conv?.ttl ? { ttl: conv.ttl } : {}),
      ...(conv?.bor ? { bor: conv.bor } : {}),
      ...(pending.handle ? { resume: pending.handle } : {}),
      onUpload: (h) => (pending.handle = h),
      onProgress: (p: FileProgress) => update((m) => (m.id === id ? { ...m, progress: p.total ? p.done / p.total : 1 } : m)),
    });
    update((m) => (m.id === id ? { ...m, id: sent.packetId, file: sent.content, status: "sent", progress: undefined, sentAt: Date.now() } : m));
  } catch (e) {
    // Kept in memory only (not in the vault): after a reload the file is attached again.
    pendingUploads.set(id, pending);
    update((m) => (m.id === id ? { ...m, status: "failed", error: e instanceof Error ? e.message : String(e) } : m));
  }
}

export async function retryUpload(id: string) {
  const pending = pendingUploads.get(id);
  if (pending) await uploadFile(id, pending);
}

/** Downloads, decrypts and verifies a received file (every chunk and the whole SHA-256); returns it as a Blob. */
export async function downloadFile(m: LocalMessage, onProgress: (fraction: number) => void): Promise<Blob> {
  if (!m.file?.fileid) throw new Error("this file is not available");
  const bytes = await files(sdk()).download(m.file, { onProgress: (p) => onProgress(p.total ? p.done / p.total : 1) });
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: m.file.mimetype || "application/octet-stream" });
}

export async function retry(id: string) {
  const m = messages.value.find((x) => x.id === id);
  if (!m) return;
  await deliver(m, m.kind === "location" ? 8000 : 1000, m.kind === "location" ? m.location : { text: m.text, links: m.links });
}

export async function editMessage(m: LocalMessage, text: string) {
  await sdk().edit(m.conversationId, m.id, text);
  update((x) => (x.id === m.id ? { ...x, text, links: extractLinks(text), edited: true } : x));
}

export async function deleteMessage(m: LocalMessage, recall: boolean) {
  await sdk()
    .deleteMessage(m.conversationId, m.id, { recall })
    .catch(ignoreAlone);
  removeMessages((x) => x.id === m.id);
}

export async function toggleStar(m: LocalMessage) {
  update((x) => (x.id === m.id ? { ...x, starred: !m.starred } : x));
  await sdk().star(m.conversationId, m.id, !m.starred).catch(ignoreAlone);
}

let lastTyping = 0;
export function sendTyping(conversationId: string) {
  if (Date.now() - lastTyping < 2500 || !connected.value) return;
  lastTyping = Date.now();
  try {
    sdk().typing(conversationId);
  } catch {
    /* typing is best effort */
  }
}

export function search(query: string): LocalMessage[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  return messages.value.filter((m) => m.kind !== "notice" && (m.text ?? "").toLowerCase().includes(q)).slice(-50);
}

// The service worker: caches the app shell (page, hashed bundles, manifest, icon) so the
// client opens offline and on slow links; it never caches API calls or message data.
interface ShellInfo {
  version: string;
  files: string[];
}
interface ExtendableEventLike extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEventLike extends ExtendableEventLike {
  request: Request;
  respondWith(r: Promise<Response> | Response): void;
}
interface NotificationEventLike extends ExtendableEventLike {
  notification: { data?: { conversationId?: string }; close(): void };
}
interface WindowClientLike {
  url: string;
  focus(): Promise<unknown>;
  postMessage(m: unknown): void;
}
interface WorkerScope {
  __SHELL: ShellInfo;
  addEventListener(type: "notificationclick", fn: (e: NotificationEventLike) => void): void;
  addEventListener(type: "install" | "activate", fn: (e: ExtendableEventLike) => void): void;
  addEventListener(type: "fetch", fn: (e: FetchEventLike) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void>; matchAll(o: { type: "window"; includeUncontrolled: boolean }): Promise<WindowClientLike[]>; openWindow(url: string): Promise<unknown> };
  location: Location;
}
const scope = self as unknown as WorkerScope;
const shell = scope.__SHELL;
const cacheName = `outpost-shell-${shell.version}`;

scope.addEventListener("install", (e) => {
  e.waitUntil(
    caches
      .open(cacheName)
      .then((c) => c.addAll(shell.files))
      .then(() => scope.skipWaiting()),
  );
});

scope.addEventListener("activate", (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("outpost-shell-") && n !== cacheName).map((n) => caches.delete(n))))
      .then(() => scope.clients.claim()),
  );
});

scope.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== scope.location.origin) return;
  // The page: network first (a new version shows at once), the cached shell when offline.
  if (e.request.mode === "navigate" && url.pathname === "/") {
    e.respondWith(page(e.request));
    return;
  }
  if (!shell.files.includes(url.pathname)) return;
  e.respondWith(caches.match(e.request).then((hit) => hit ?? fetch(e.request)));
});

/** How long the page waits for the server before the cached shell is shown instead. */
const PAGE_WAIT_MS = 3000;

/**
 * The network's page when it answers well and in time; otherwise the cached shell: a box that
 * is out of reach (no answer at all), refusing, or behind a proxy answering 5xx must not keep
 * the user from the messages this device already holds.
 */
async function page(request: Request): Promise<Response> {
  const cached = await caches.match("/");
  const network = fetch(request);
  if (!cached) return network.catch(() => Response.error());
  const late = new Promise<null>((resolve) => setTimeout(() => resolve(null), PAGE_WAIT_MS));
  const first = await Promise.race([network.then((r) => (r.ok ? r : null), () => null), late]);
  return first ?? cached;
}

// A click on a new-message notification brings Outpost forward on that conversation.
scope.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const conversationId = e.notification.data?.conversationId;
  e.waitUntil(
    scope.clients.matchAll({ type: "window", includeUncontrolled: true }).then(async (windows) => {
      const open = windows.find((w) => new URL(w.url).origin === scope.location.origin);
      if (!open) return scope.clients.openWindow("/");
      await open.focus();
      if (conversationId) open.postMessage({ t: "open-conversation", conversationId });
    }),
  );
});

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
interface WorkerScope {
  __SHELL: ShellInfo;
  addEventListener(type: "install" | "activate", fn: (e: ExtendableEventLike) => void): void;
  addEventListener(type: "fetch", fn: (e: FetchEventLike) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
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

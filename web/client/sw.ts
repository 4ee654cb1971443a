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
    e.respondWith(fetch(e.request).catch(async () => (await caches.match("/")) ?? Response.error()));
    return;
  }
  if (!shell.files.includes(url.pathname)) return;
  e.respondWith(caches.match(e.request).then((hit) => hit ?? fetch(e.request)));
});

/** @jsxImportSource preact */
// Entry point of the browser client: mounts the app and registers the service worker
// that caches the app shell (never message data).
import { render } from "preact";
import "./app.css";
import { App } from "./ui/app.tsx";
import { boot, openConversation } from "./store.ts";

render(<App />, document.getElementById("app")!);
void boot();
if ("serviceWorker" in navigator && location.protocol !== "file:") {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => undefined);
  // A notification clicked: the service worker names the conversation to open.
  navigator.serviceWorker.addEventListener("message", (e: MessageEvent) => {
    const m = e.data as { t?: string; conversationId?: string } | null;
    if (m?.t === "open-conversation" && typeof m.conversationId === "string") openConversation(m.conversationId);
  });
}

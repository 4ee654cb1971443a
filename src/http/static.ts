// Serves the assets embedded at build time (see scripts/embed-assets.ts).
import type { App } from "./types.ts";
import { assets } from "./assets.gen.ts";

const decoded = new Map<string, Uint8Array | string>();

export function registerStaticAssets(app: App) {
  app.get("*", async (c, next) => {
    const asset = assets[c.req.path];
    if (!asset) return next();
    if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304);
    let body = decoded.get(c.req.path);
    if (body === undefined) {
      body = asset.text ?? Uint8Array.from(atob(asset.base64 ?? ""), (ch) => ch.charCodeAt(0));
      decoded.set(c.req.path, body);
    }
    c.header("Content-Type", asset.type);
    c.header("ETag", asset.etag);
    c.header("Cache-Control", asset.type.startsWith("text/html") ? "no-cache" : "public, max-age=3600");
    return c.body(body as string);
  });
}

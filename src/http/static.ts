// Serves the assets embedded at build time (see scripts/embed-assets.ts). Pages and the
// service worker are revalidated on every load; the browser client's hashed bundles under
// /app/ never change under one name, so browsers keep them for a year. Text is gzipped
// once per asset for clients that accept it (the client must load fast over slow links).
import { gzipSync } from "node:zlib";
import type { App } from "./types.ts";
import embedded from "./assets.gen.json" with { type: "json" };

/** One file the binary serves (see scripts/embed-assets.ts). */
export interface EmbeddedAsset {
  type: string;
  etag: string;
  text?: string;
  base64?: string;
}

const assets = embedded as Record<string, EmbeddedAsset>;

const decoded = new Map<string, Uint8Array | string>();
const gzipped = new Map<string, Uint8Array>();
const GZIP_MIN_BYTES = 1024;

function cacheControl(path: string, type: string): string {
  if (type.startsWith("text/html") || path === "/sw.js") return "no-cache";
  if (path.startsWith("/app/")) return "public, max-age=31536000, immutable";
  return "public, max-age=3600";
}

export function registerStaticAssets(app: App) {
  app.get("*", async (c, next) => {
    const asset = assets[c.req.path];
    if (!asset) return next();
    c.header("Cache-Control", cacheControl(c.req.path, asset.type));
    if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304);
    let body = decoded.get(c.req.path);
    if (body === undefined) {
      body = asset.text ?? Uint8Array.from(atob(asset.base64 ?? ""), (ch) => ch.charCodeAt(0));
      decoded.set(c.req.path, body);
    }
    c.header("Content-Type", asset.type);
    c.header("ETag", asset.etag);
    if (asset.text !== undefined && asset.text.length >= GZIP_MIN_BYTES) {
      c.header("Vary", "Accept-Encoding");
      if (/\bgzip\b/.test(c.req.header("accept-encoding") ?? "")) {
        let gz = gzipped.get(c.req.path);
        if (!gz) gzipped.set(c.req.path, (gz = gzipSync(asset.text, { level: 9 })));
        c.header("Content-Encoding", "gzip");
        return c.body(gz as Uint8Array<ArrayBuffer>);
      }
    }
    return c.body(body as string);
  });
}

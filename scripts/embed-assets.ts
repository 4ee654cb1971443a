// Rebuilds src/http/assets.gen.json (data, not code; git-ignored): every file served by the binary (web/public,
// the browser client built into dist/web, and the offline API reference renderer) as strings, so the compiled binary
// needs no files beside it. Run: bun scripts/embed-assets.ts (npm scripts do it).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { extname, join, relative } from "node:path";

const root = join(import.meta.dir, "..");
const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

interface Asset { type: string; etag: string; text?: string; base64?: string }
const assets: Record<string, Asset> = {};

function add(urlPath: string, file: string) {
  const bytes = readFileSync(file);
  const type = types[extname(file)] ?? "application/octet-stream";
  const etag = `"${createHash("sha256").update(bytes).digest("hex").slice(0, 20)}"`;
  const isText = type.startsWith("text/") || type.includes("json") || type.includes("svg");
  assets[urlPath] = isText ? { type, etag, text: bytes.toString("utf8") } : { type, etag, base64: bytes.toString("base64") };
}

/** Adds every file under `dir`, served at `/` + its path relative to `dir`. */
function addTree(dir: string, base = dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) addTree(full, base);
    else add("/" + relative(base, full).split("\\").join("/"), full);
  }
}
addTree(join(root, "web", "public"));
// The browser client, built by scripts/build-web.ts; its page is the entry point at "/".
const webClient = join(root, "dist", "web");
addTree(webClient);
if (existsSync(join(webClient, "index.html"))) add("/", join(webClient, "index.html"));
add("/api/docs/scalar.js", join(root, "node_modules", "@scalar", "api-reference", "dist", "browser", "standalone.js"));

// JSON rather than a TypeScript module: it is data (third-party bundles included), and
// both Bun's bundler and vitest import JSON directly.
writeFileSync(join(root, "src", "http", "assets.gen.json"), JSON.stringify(assets));
rmSync(join(root, "src", "http", "assets.gen.ts"), { force: true });
console.log(`embedded ${Object.keys(assets).length} asset(s)`);

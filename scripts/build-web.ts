// Builds the browser client (web/client) into dist/web: minified bundles with hashed
// names under /app/, plus index.html, the service worker and the manifest, which
// scripts/embed-assets.ts then embeds. Run: bun scripts/build-web.ts (npm scripts do it).
import { mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";

const root = join(import.meta.dir, "..");
const src = join(root, "web", "client");
const out = join(root, "dist", "web");
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "app"), { recursive: true });

// The call worker (frame transforms for RTCRtpScriptTransform) is a bundle of its own, loaded
// only when a call needs it; the app learns its hashed name at build time.
const worker = await Bun.build({
  entrypoints: [join(src, "calls", "worker.ts")],
  outdir: join(out, "app"),
  target: "browser",
  format: "esm",
  minify: true,
  naming: { entry: "call-[name]-[hash].[ext]" },
});
if (!worker.success) {
  for (const log of worker.logs) console.error(log);
  process.exit(1);
}
const workerFile = basename(worker.outputs[0]!.path);

const app = await Bun.build({
  entrypoints: [join(src, "main.tsx")],
  outdir: join(out, "app"),
  target: "browser",
  format: "esm",
  minify: true,
  splitting: false,
  naming: { entry: "[name]-[hash].[ext]", asset: "[name]-[hash].[ext]" },
  define: { "process.env.NODE_ENV": '"production"', OUTPOST_CALL_WORKER: JSON.stringify(`/app/${workerFile}`) },
  // src/client/files.ts uses node:crypto's createHash and (for path saves, never called
  // here) node:fs/promises: small browser shims instead of the bundler's large polyfills.
  plugins: [
    {
      name: "node-shims",
      setup(build) {
        const shims: Record<string, string> = { "node:crypto": "node-crypto.ts", "node:fs/promises": "node-fs.ts" };
        build.onResolve({ filter: /^node:(crypto|fs\/promises)$/ }, (args) => ({ path: join(src, "shims", shims[args.path]!) }));
      },
    },
  ],
});
if (!app.success) {
  for (const log of app.logs) console.error(log);
  process.exit(1);
}
const js = app.outputs.filter((o) => o.kind === "entry-point").map((o) => basename(o.path));
const css = app.outputs.filter((o) => o.path.endsWith(".css")).map((o) => basename(o.path));

// The service worker keeps its fixed name (browsers re-check it on every visit) and knows
// the hashed shell files it caches through a version stamp derived from them.
const shell = ["/", ...js.map((f) => `/app/${f}`), ...css.map((f) => `/app/${f}`), `/app/${workerFile}`, "/manifest.webmanifest", "/app-icon.svg"];
const sw = await Bun.build({ entrypoints: [join(src, "sw.ts")], target: "browser", minify: true });
if (!sw.success) {
  for (const log of sw.logs) console.error(log);
  process.exit(1);
}
const version = new Bun.CryptoHasher("sha256").update(shell.join("\n")).digest("hex").slice(0, 12);
writeFileSync(join(out, "sw.js"), `self.__SHELL=${JSON.stringify({ version, files: shell })};\n${await sw.outputs[0]!.text()}`);

const html = readFileSync(join(src, "index.html"), "utf8")
  .replace("<!--styles-->", css.map((f) => `<link rel="stylesheet" href="/app/${f}">`).join(""))
  .replace("<!--scripts-->", js.map((f) => `<script type="module" src="/app/${f}"></script>`).join(""));
writeFileSync(join(out, "index.html"), html);
copyFileSync(join(src, "manifest.webmanifest"), join(out, "manifest.webmanifest"));
copyFileSync(join(src, "app-icon.svg"), join(out, "app-icon.svg"));

let raw = 0;
let gz = 0;
for (const f of [...js.map((f) => join(out, "app", f)), ...css.map((f) => join(out, "app", f)), join(out, "index.html")]) {
  const bytes = readFileSync(f);
  raw += bytes.length;
  gz += gzipSync(bytes).length;
}
console.log(`web client: ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzip (${js.join(", ")}); call worker ${(gzipSync(readFileSync(join(out, "app", workerFile))).length / 1024).toFixed(1)} KiB gzip`);

// Smoke test of the built binary: copy it into an empty folder, start it
// there, check it serves health, readiness and its API docs, stop it with
// SIGTERM and expect a clean exit. Run: bun scripts/smoke.ts [path/to/outpost]
import { copyFileSync, chmodSync, mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const binary = resolve(process.argv[2] ?? join(import.meta.dir, "..", "dist", "outpost"));
if (!existsSync(binary)) {
  console.error(`no binary at ${binary}: run npm run build first`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "outpost-smoke-"));
const copy = join(dir, "outpost");
copyFileSync(binary, copy);
chmodSync(copy, 0o755);

const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
const port = probe.port!;
probe.stop(true);

const proc = Bun.spawn([copy, "serve", "--port", String(port)], { cwd: dir, stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/bin:/bin" } });
let output = "";
const pump = async (s: ReadableStream<Uint8Array>) => {
  for await (const c of s) output += new TextDecoder().decode(c);
};
void pump(proc.stdout);
void pump(proc.stderr);

const base = `http://127.0.0.1:${port}`;
const fail = (why: string) => {
  console.error(`SMOKE FAIL: ${why}\n--- server output ---\n${output}`);
  proc.kill("SIGKILL");
  process.exit(1);
};

const deadline = Date.now() + 10_000;
for (;;) {
  try {
    // Ready means every part is up, the spawned calling node included.
    if ((await fetch(`${base}/readyz`)).ok) break;
  } catch {
    /* not up yet */
  }
  if (proc.exitCode !== null) fail(`exited early with ${proc.exitCode}`);
  if (Date.now() > deadline) fail("/readyz not ok within 10 s");
  await Bun.sleep(20);
}

const checks: [string, (r: Response, body: string) => boolean][] = [
  ["/healthz", (r) => r.status === 200],
  ["/readyz", (r, b) => r.status === 200 && JSON.parse(b).ready === true && JSON.parse(b).checks.calling?.ok === true],
  ["/api/openapi.json", (r, b) => r.status === 200 && JSON.parse(b).openapi === "3.1.0"],
  ["/api/docs", (r, b) => r.status === 200 && b.includes("/api/docs/scalar.js")],
  ["/api/docs/scalar.js", (r, b) => r.status === 200 && b.length > 100_000],
  ["/", (r, b) => r.status === 200 && (r.headers.get("content-type") ?? "").includes("text/html") && /<script[^>]+src="\/app\//.test(b)],
  ["/sign-in", (r, b) => r.status === 200 && b.includes("<form")],
];
for (const [path, ok] of checks) {
  const r = await fetch(base + path);
  const body = await r.text();
  if (!ok(r, body)) fail(`${path} answered ${r.status}`);
  console.log(`ok ${path}`);
}
if (!existsSync(join(dir, "data", "outpost.db"))) fail("no ./data/outpost.db beside the binary");
if (!/One-time password: \S+/.test(output)) fail("no first super administrator password printed");

proc.kill("SIGTERM");
const code = await proc.exited;
if (code !== 0) fail(`SIGTERM exit code ${code}`);
if (!output.includes("stopped cleanly")) fail("no clean-stop log line");
console.log("ok SIGTERM: clean exit");

// TLS with a generated certificate: the x509 code must load inside the binary too.
const tlsProc = Bun.spawn([copy, "serve", "--port", String(port), "--tls", "auto", "--data-dir", "tls-data"], { cwd: dir, stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/bin:/bin" } });
output = "";
void pump(tlsProc.stdout);
void pump(tlsProc.stderr);
const tlsDeadline = Date.now() + 10_000;
for (;;) {
  try {
    if ((await fetch(`https://127.0.0.1:${port}/healthz`, { tls: { rejectUnauthorized: false } } as RequestInit)).ok) break;
  } catch {
    /* not up yet */
  }
  if (tlsProc.exitCode !== null || Date.now() > tlsDeadline) fail(`--tls auto did not serve HTTPS (exit ${tlsProc.exitCode})`);
  await Bun.sleep(20);
}
if (!/"fingerprint":"([0-9A-F]{2}:){31}[0-9A-F]{2}"/.test(output)) fail("no certificate fingerprint printed under --tls auto");
tlsProc.kill("SIGTERM");
if ((await tlsProc.exited) !== 0) fail("--tls auto: unclean exit");
console.log("ok --tls auto: HTTPS with a generated certificate, fingerprint printed");
console.log("smoke: 10 passed, 0 failed");

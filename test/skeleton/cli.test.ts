// The `outpost` command as a user runs it: real processes, real data directories.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { AdminClient } from "../support/admin-client.ts";
import { spawnServer, tempDir } from "../support/server.ts";
import { certificateFingerprint } from "../../src/tls/certificate.ts";

const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([process.execPath, main, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("outpost CLI", () => {
  it("prints help for itself and every command", () => {
    const top = run(["--help"]);
    expect(top.code).toBe(0);
    for (const cmd of ["serve", "migrate", "version", "admin"]) {
      expect(top.out).toContain(cmd);
      const help = run([cmd, "--help"]);
      expect(help.code).toBe(0);
      expect(help.out).toContain(`outpost ${cmd}`);
    }
    expect(run(["serve", "--help"]).out).toContain("OUTPOST_DATA_DIR");
  });

  it("exits 2 on an unknown command or a bad setting, naming key, value and rule", () => {
    expect(run(["frobnicate"]).code).toBe(2);
    const bad = run(["serve", "--port", "99999", "--data-dir", tempDir()]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/port = 99999 \(from flag --port\): .*65535/);
    const env = run(["serve", "--data-dir", tempDir()], { OUTPOST_LOG_LEVEL: "loud" });
    expect(env.code).toBe(2);
    expect(env.err).toMatch(/logLevel = "loud" \(from environment OUTPOST_LOG_LEVEL\)/);
    const dir = tempDir();
    writeFileSync(join(dir, "outpost.toml"), "colour = 'blue'\n");
    const file = run(["migrate", "--data-dir", dir]);
    expect(file.code).toBe(2);
    expect(file.err).toMatch(/colour: unknown setting/);
    expect(run(["serve", "--no-such-flag"]).code).toBe(2);
  });

  it("version and migrate", () => {
    expect(run(["version"]).out).toMatch(/^outpost \d+\.\d+\.\d+/);
    const dir = tempDir();
    const first = run(["migrate", "--data-dir", dir]);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^1 migration\(s\) applied/);
    expect(existsSync(join(dir, "outpost.db"))).toBe(true);
    expect(run(["migrate", "--data-dir", dir]).out).toMatch(/^0 migration\(s\) applied/);
  });

  it("admin reset-password gives a new one-time password and refuses unknown names", async () => {
    const server = await spawnServer();
    const code = await server.signal("SIGTERM");
    expect(code).toBe(0);
    expect(run(["admin", "reset-password", "ghost", "--data-dir", server.dataDir]).code).toBe(1);
    expect(run(["admin", "reset-password"]).code).toBe(2);
    const reset = run(["admin", "reset-password", "admin", "--data-dir", server.dataDir]);
    expect(reset.code).toBe(0);
    const password = /: (\S+)\n/.exec(reset.out)![1]!;
    const again = await spawnServer({ dataDir: server.dataDir });
    try {
      expect(again.firstAdminPassword()).toBeNull();
      const client = new AdminClient(again.url);
      expect((await client.signIn("admin", password)).passwordChangeRequired).toBe(true);
    } finally {
      await again.signal("SIGTERM");
    }
  });
});

describe("graceful shutdown", () => {
  it("loses no acknowledged write: write, SIGTERM, restart, read back", async () => {
    const server = await spawnServer();
    const client = new AdminClient(server.url);
    const newPassword = await client.signInFirstTime("admin", server.firstAdminPassword()!);
    // The 204 above is the acknowledgement; stop at once after it.
    const code = await server.signal("SIGTERM");
    expect(code).toBe(0);
    expect(server.output()).toContain("stopped cleanly");
    const again = await spawnServer({ dataDir: server.dataDir });
    try {
      const c2 = new AdminClient(again.url);
      expect((await c2.signIn("admin", newPassword)).passwordChangeRequired).toBe(false);
    } finally {
      expect(await again.signal("SIGINT")).toBe(0);
    }
  });
});

describe("TLS", () => {
  it("tls=auto generates and keeps a self-signed certificate, prints its fingerprint, sends HSTS", async () => {
    const dataDir = tempDir();
    const server = await spawnServer({ dataDir, args: ["--tls", "auto"] });
    const cert = readFileSync(join(dataDir, "tls", "cert.pem"), "utf8");
    const fingerprint = /"fingerprint":"([0-9A-F:]+)"/.exec(server.output())![1]!;
    expect(fingerprint).toBe(await certificateFingerprint(cert));
    // A client that trusts exactly this certificate connects and gets HSTS.
    const res = await fetch(server.url + "/healthz", { tls: { ca: cert } } as RequestInit);
    expect(res.status).toBe(200);
    expect(res.headers.get("strict-transport-security")).toContain("max-age=");
    expect(await server.signal("SIGTERM")).toBe(0);
    // Restarting keeps the same certificate, so pins stay valid.
    const again = await spawnServer({ dataDir, args: ["--tls", "auto"] });
    expect(/"fingerprint":"([0-9A-F:]+)"/.exec(again.output())![1]).toBe(fingerprint);
    expect(await again.signal("SIGTERM")).toBe(0);
  });
});

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfigFlags } from "./load.ts";
import { tempDir } from "../../test/support/server.ts";

let dir = "";
afterEach(() => {
  dir = "";
});

function dataDirWith(file?: { name: string; text: string }): string {
  dir = tempDir("outpost-config-");
  mkdirSync(dir, { recursive: true });
  if (file) writeFileSync(join(dir, file.name), file.text);
  return dir;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("config precedence", () => {
  it("uses defaults when nothing is set", () => {
    const d = dataDirWith();
    const { config, sources } = loadConfig({ flags: { dataDir: d }, env: {} });
    expect(config.port).toBe(8080);
    expect(config.host).toBe("127.0.0.1");
    expect(sources.port).toBe("default");
  });

  it("flags beat env, env beats the file, the file beats defaults", () => {
    const d = dataDirWith({ name: "outpost.toml", text: 'port = 9001\nhost = "0.0.0.0"\nlogLevel = "warn"\neventLogging = "ip"\n' });
    const { config, sources } = loadConfig({
      flags: { dataDir: d, port: 9003 },
      env: { OUTPOST_PORT: "9002", OUTPOST_HOST: "::1" },
    });
    expect(config.port).toBe(9003);
    expect(sources.port).toBe("flag");
    expect(config.host).toBe("::1");
    expect(sources.host).toBe("env");
    expect(config.logLevel).toBe("warn");
    expect(sources.logLevel).toBe("file");
    expect(config.eventLogging).toBe("ip");
  });

  it("reads outpost.json as well as outpost.toml", () => {
    const d = dataDirWith({ name: "outpost.json", text: JSON.stringify({ port: 7070 }) });
    expect(loadConfig({ flags: { dataDir: d }, env: {} }).config.port).toBe(7070);
  });

  it("finds the data directory from the environment before reading the file", () => {
    const d = dataDirWith({ name: "outpost.toml", text: "port = 6060\n" });
    expect(loadConfig({ env: { OUTPOST_DATA_DIR: d } }).config.port).toBe(6060);
  });

  it("parses --flag value and --flag=value, leaving other arguments", () => {
    const r = parseConfigFlags(["--port", "81", "--host=0.0.0.0", "extra", "--unknown-flag"]);
    expect(r.flags).toEqual({ port: 81, host: "0.0.0.0" });
    expect(r.rest).toEqual(["extra", "--unknown-flag"]);
    expect(parseConfigFlags(["--port"]).problems[0]).toContain("--port: needs a value");
  });
});

describe("bad settings stop start-up with key, value and rule", () => {
  const cases: { name: string; file?: { name: string; text: string }; flags?: Record<string, unknown>; env?: Record<string, string>; expect: RegExp }[] = [
    { name: "port out of range (flag)", flags: { port: 70000 }, expect: /port = 70000 \(from flag --port\): .*65535/ },
    { name: "port not a number (env)", env: { OUTPOST_PORT: "eighty" }, expect: /port = "eighty" \(from environment OUTPOST_PORT\): .*number/ },
    { name: "unknown env setting", env: { OUTPOST_PROT: "1" }, expect: /OUTPOST_PROT: unknown setting/ },
    { name: "unknown file setting", file: { name: "outpost.toml", text: "prot = 1\n" }, expect: /prot: unknown setting \(file .*outpost.toml\)/ },
    { name: "wrong type in file", file: { name: "outpost.toml", text: 'bodyLimitBytes = "big"\n' }, expect: /bodyLimitBytes = "big" \(from file .*\): .*number/ },
    { name: "enum value", flags: { eventLogging: "everything" }, expect: /eventLogging = "everything" .*activity.*ip.*messaging.*userid/ },
    { name: "tls files without paths", flags: { tls: "files" }, expect: /tlsCert .*tls=files needs both tlsCert and tlsKey/ },
    { name: "udp range inverted", flags: { callingUdpPortMin: 20000, callingUdpPortMax: 10000 }, expect: /callingUdpPortMin = 20000 .*must not be above callingUdpPortMax/ },
    { name: "broken TOML", file: { name: "outpost.toml", text: "port = = 1\n" }, expect: /outpost.toml: cannot be parsed/ },
    { name: "broken JSON", file: { name: "outpost.json", text: "{port:" }, expect: /outpost.json: cannot be parsed/ },
    { name: "JSON that is not an object", file: { name: "outpost.json", text: "[1,2]" }, expect: /top level must be a table/ },
    { name: "invalid URL", flags: { publicUrl: "not a url" }, expect: /publicUrl = "not a url"/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = dataDirWith(c.file);
      const problems = problemsOf(() => loadConfig({ flags: { dataDir: d, ...(c.flags ?? {}) }, env: c.env ?? {} }));
      expect(problems.join("\n")).toMatch(c.expect);
    });
  }

  it("refuses both outpost.toml and outpost.json at once", () => {
    const d = dataDirWith({ name: "outpost.toml", text: "port = 1\n" });
    writeFileSync(join(d, "outpost.json"), "{}");
    expect(problemsOf(() => loadConfig({ flags: { dataDir: d }, env: {} })).join()).toMatch(/both outpost.toml and outpost.json/);
  });
});

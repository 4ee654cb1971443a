// Builds the effective configuration: flags > OUTPOST_* environment >
// <dataDir>/outpost.toml or outpost.json > defaults. A bad or unknown setting
// is a ConfigError naming the key, the value, the source and the rule.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import * as z from "zod";
import { configSchema, type Config } from "./schema.ts";

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
}

type Source = "flag" | "env" | "file" | "default";
type Raw = Record<string, unknown>;

const keys: string[] = Object.keys(configSchema.shape);

export const configKeys = (): string[] => [...keys];

const camelToEnv = (k: string) => "OUTPOST_" + k.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase();
const camelToFlag = (k: string) => "--" + k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

/** The base type of a setting (under default/optional), so flag and env strings can be coerced. */
function baseType(key: string): string | undefined {
  let def = (configSchema.shape as Record<string, z.ZodType>)[key]?._zod.def as { type: string; innerType?: z.ZodType } | undefined;
  while (def && (def.type === "default" || def.type === "optional")) def = def.innerType?._zod.def as typeof def;
  return def?.type;
}

function coerce(key: string, value: string): unknown {
  if (baseType(key) === "number" && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return value;
}

export function envName(key: string): string {
  return camelToEnv(key);
}
export function flagName(key: string): string {
  return camelToFlag(key);
}

/** Parses `--key value` / `--key=value` flags for config keys; returns settings and the remaining args. */
export function parseConfigFlags(argv: string[]): { flags: Raw; rest: string[]; problems: string[] } {
  const byFlag = new Map(keys.map((k) => [camelToFlag(k), k]));
  const flags: Raw = {};
  const rest: string[] = [];
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const key = byFlag.get(name);
    if (!key) {
      rest.push(arg);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) problems.push(`${name}: needs a value`);
    else flags[key] = coerce(key, value);
  }
  return { flags, rest, problems };
}

function fromEnv(env: Record<string, string | undefined>): { values: Raw; problems: string[] } {
  const values: Raw = {};
  const problems: string[] = [];
  const known = new Map(keys.map((k) => [camelToEnv(k), k]));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("OUTPOST_") || value === undefined) continue;
    const key = known.get(name);
    if (!key) {
      problems.push(`${name}: unknown setting (environment); known settings are ${[...known.keys()].join(", ")}`);
      continue;
    }
    values[key] = coerce(key, value);
  }
  return { values, problems };
}

function fromFile(dataDir: string): { values: Raw; path?: string } {
  const toml = join(dataDir, "outpost.toml");
  const json = join(dataDir, "outpost.json");
  if (existsSync(toml) && existsSync(json)) {
    throw new ConfigError([`${dataDir}: holds both outpost.toml and outpost.json; keep one`]);
  }
  const path = existsSync(toml) ? toml : existsSync(json) ? json : undefined;
  if (!path) return { values: {} };
  const text = readFileSync(path, "utf8");
  try {
    const parsed = path.endsWith(".toml") ? parseToml(text) : JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error("the top level must be a table/object of settings");
    }
    return { values: parsed as Raw, path };
  } catch (e) {
    throw new ConfigError([`${path}: cannot be parsed: ${(e as Error).message}`]);
  }
}

export interface LoadedConfig {
  config: Config;
  sources: Record<string, Source>;
  file?: string;
}

export function loadConfig(opts: { flags?: Raw; env?: Record<string, string | undefined> } = {}): LoadedConfig {
  const flags = opts.flags ?? {};
  const env = fromEnv(opts.env ?? process.env);
  if (env.problems.length) throw new ConfigError(env.problems);
  // The data directory decides where the file is, so it is resolved first.
  const dataDir = String(flags.dataDir ?? env.values.dataDir ?? "./data");
  const file = fromFile(dataDir);
  const merged: Raw = { ...file.values, ...env.values, ...flags };
  const sources: Record<string, Source> = {};
  for (const k of keys) {
    sources[k] = k in flags ? "flag" : k in env.values ? "env" : k in file.values ? "file" : "default";
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const where = (key: string) =>
      sources[key] === "flag" ? `flag ${camelToFlag(key)}` : sources[key] === "env" ? `environment ${camelToEnv(key)}` : sources[key] === "file" ? `file ${file.path}` : "default";
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? (issue as { keys?: string[] }).keys?.[0] ?? "");
      if (issue.code === "unrecognized_keys") {
        const names = (issue as { keys: string[] }).keys;
        return names.map((n) => `${n}: unknown setting (file ${file.path}); known settings are ${keys.join(", ")}`).join("\n  ");
      }
      const value = JSON.stringify(merged[key]);
      return `${key} = ${value} (from ${where(key)}): ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  return { config: result.data, sources, ...(file.path ? { file: file.path } : {}) };
}

// Client configuration intake: the one function every onboarding path (file upload,
// deeplink, landing URL) goes through. It accepts the clear JSON form the SDK uses; the
// password-protected form plugs in here once the server produces it.
import type { ClientConfig } from "../../src/client/api.ts";

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

const MAX_CONFIG_BYTES = 64 * 1024;

/** Parses a client configuration file's bytes (password: for encrypted configurations). */
export async function loadClientConfig(fileBytes: Uint8Array, password?: string): Promise<ClientConfig> {
  if (fileBytes.length > MAX_CONFIG_BYTES) throw new ConfigError("file", "this file is too large to be a client configuration");
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fileBytes));
  } catch {
    throw new ConfigError("file", "this file is not a client configuration (it is not JSON text)");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new ConfigError("file", "this file is not a client configuration (expected a JSON object)");
  const obj = parsed as Record<string, unknown>;
  if ("ciphertext" in obj || "kdf" in obj) {
    // Password-protected configurations are not produced by this server version yet.
    void password;
    throw new ConfigError("password", "this configuration is password-protected; this version of the client opens only clear configurations");
  }
  if (typeof obj.serviceUrl !== "string") throw new ConfigError("serviceUrl", "serviceUrl is missing");
  let url: URL;
  try {
    url = new URL(obj.serviceUrl);
  } catch {
    throw new ConfigError("serviceUrl", "serviceUrl is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError("serviceUrl", "serviceUrl must be an http(s) URL");
  if (typeof obj.networkId !== "string" || !/^[0-9a-f-]{36}$/i.test(obj.networkId)) throw new ConfigError("networkId", "networkId must be a network id (a UUID)");
  if (obj.pins !== undefined && (!Array.isArray(obj.pins) || !obj.pins.every((p) => typeof p === "string"))) throw new ConfigError("pins", "pins must be a list of certificate fingerprints");
  return { serviceUrl: url.origin, networkId: obj.networkId.toLowerCase(), ...(obj.pins ? { pins: obj.pins as string[] } : {}) };
}

/** A configuration carried in a landing link's fragment: /#config=<base64url JSON> (never sent to a server). */
export function configFromFragment(hash: string): Uint8Array | null {
  const m = /(?:^#|&)config=([A-Za-z0-9_-]+)/.exec(hash);
  if (!m?.[1]) return null;
  try {
    const b64 = m[1].replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** A browser can only reach the server it was loaded from (the page's CSP allows no other). */
export function sameServer(config: ClientConfig, origin: string): boolean {
  return new URL(config.serviceUrl).origin === origin;
}

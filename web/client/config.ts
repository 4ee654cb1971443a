// Client configuration intake: the one function every onboarding path (file upload,
// deeplink, landing URL) goes through. It accepts the clear JSON form the SDK uses and the
// password-protected file network administrators create (src/modules/client-config/format.ts).
import type { ClientConfig } from "../../src/client/api.ts";
import { CONFIG_FORMAT, ClientConfigError, clientConfigFromFile } from "../../src/modules/client-config/format.ts";

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The file is password-protected and no password was given: the onboarding asks for one. */
export class PasswordNeeded extends ConfigError {
  constructor() {
    super("password", "this configuration is protected by a password: enter the password your administrator gave you with it");
    this.name = "PasswordNeeded";
  }
}

/** Whether these bytes are a password-protected configuration file (so the password field shows). */
export function isEncryptedConfig(fileBytes: Uint8Array): boolean {
  try {
    const v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fileBytes)) as Record<string, unknown> | null;
    return !!v && typeof v === "object" && (v.format === CONFIG_FORMAT || "ciphertext" in v || "kdf" in v);
  } catch {
    return false;
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
  let obj = parsed as Record<string, unknown>;
  if (obj.format === CONFIG_FORMAT || "ciphertext" in obj || "kdf" in obj) {
    if (!password) throw new PasswordNeeded();
    try {
      obj = await clientConfigFromFile(new TextDecoder().decode(fileBytes), password);
    } catch (e) {
      if (!(e instanceof ClientConfigError)) throw e;
      if (e.code === "wrong_password") throw new ConfigError("password", "that password does not open this configuration (or the file was altered)");
      if (e.code === "expired") throw new ConfigError("expiresAt", e.message);
      throw new ConfigError("file", e.message);
    }
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

// The client's REST calls (isomorphic: fetch only). Errors come back as OutpostError
// carrying the server's code, message and details.
export class OutpostError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "OutpostError";
  }
}

/** What a client starts from (the encrypted configuration file carries the same fields). */
export interface ClientConfig {
  /** e.g. "https://outpost.example:8443" */
  serviceUrl: string;
  networkId: string;
  /** SHA-256 fingerprints of the server certificates this client accepts (checked under Bun; see pinning.ts). */
  pins?: string[];
  /** The pinned certificates themselves (PEM): a self-signed appliance certificate is then trusted as its own root. */
  certificates?: string[];
}

/** Bun's TLS options for fetch and WebSocket (certificate pinning, pinning.ts). */
export interface TlsOptions {
  ca?: string[];
  checkServerIdentity(host: string, cert: { fingerprint256?: string }): Error | undefined;
}

export class RestApi {
  constructor(
    readonly baseUrl: string,
    private bearer?: string,
    /** Set when the configuration pins certificates: every request goes through it. */
    readonly tls?: TlsOptions,
  ) {}

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    if (!this.tls) return fetch(url, init);
    try {
      return await fetch(url, { ...init, tls: this.tls } as RequestInit);
    } catch (e) {
      // A certificate that does not chain to the pinned ones fails before the pin check: same refusal.
      if (!(e instanceof OutpostError) && /certificate|self.signed|ssl|tls/i.test(String(e))) throw new OutpostError("certificate_not_pinned", `the server's certificate is not one this configuration pins (${String(e)}): refusing to connect`);
      throw e;
    }
  }

  setBearer(bearer: string) {
    this.bearer = bearer;
  }

  /** A raw request with this device's credentials (binary file chunks); errors are thrown like call's. */
  async raw(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    const res = await this.fetch(`${this.baseUrl}${path}`, { method, headers, body: init.body ?? null, signal: init.signal ?? null });
    if (res.ok) return res;
    const text = await res.text();
    let e: { code?: string; message?: string; details?: unknown } | undefined;
    try {
      e = (JSON.parse(text) as { error?: typeof e }).error;
    } catch {
      // not JSON: report the status alone
    }
    throw new OutpostError(e?.code ?? "http_error", e?.message ?? `${method} ${path}: HTTP ${res.status}`, res.status, e?.details);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    const res = await this.fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new OutpostError("bad_response", `${method} ${path}: HTTP ${res.status} without a JSON body`, res.status);
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; details?: unknown } }).error;
      throw new OutpostError(e?.code ?? "http_error", e?.message ?? `HTTP ${res.status}`, res.status, e?.details);
    }
    return parsed as T;
  }
}

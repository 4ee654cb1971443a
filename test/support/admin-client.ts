// A tiny API client that keeps an administrator's session cookie and CSRF token
// (or sends an API token instead), plus a console form poster.
export class AdminClient {
  cookie = "";
  csrf = "";
  bearer = "";
  constructor(public readonly baseUrl: string) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h.cookie = this.cookie;
    if (this.bearer) h.authorization = `Bearer ${this.bearer}`;
    if (this.csrf && method !== "GET" && !("x-csrf-token" in h)) h["x-csrf-token"] = this.csrf;
    if (body !== undefined) h["content-type"] = "application/json";
    const res = await fetch(this.baseUrl + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), redirect: "manual" });
    const set = res.headers.get("set-cookie");
    if (set) this.cookie = set.split(";")[0]!;
    return res;
  }

  /** Posts a console form (urlencoded) with the session's CSRF token unless `csrf: false`. */
  async form(path: string, fields: Record<string, string | string[]>, opts: { csrf?: boolean } = {}): Promise<Response> {
    const body = new URLSearchParams();
    if (opts.csrf !== false && this.csrf) body.append("_csrf", this.csrf);
    for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
    const h: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (this.cookie) h.cookie = this.cookie;
    return fetch(this.baseUrl + path, { method: "POST", headers: h, body, redirect: "manual" });
  }

  async signIn(username: string, password: string, totpCode?: string): Promise<{ passwordChangeRequired: boolean }> {
    const res = await this.request("POST", "/api/v1/auth/sign-in", { username, password, ...(totpCode ? { totpCode } : {}) });
    if (!res.ok) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { csrfToken: string; passwordChangeRequired: boolean };
    this.csrf = body.csrfToken;
    return body;
  }

  /** Signs in with the one-time password and replaces it; returns the new password. */
  async signInFirstTime(username: string, oneTimePassword: string, newPassword = "Correct-Horse-42-battery"): Promise<string> {
    await this.signIn(username, oneTimePassword);
    const res = await this.request("POST", "/api/v1/auth/password", { currentPassword: oneTimePassword, newPassword });
    if (res.status !== 204) throw new Error(`password change failed: ${res.status} ${await res.text()}`);
    return newPassword;
  }
}

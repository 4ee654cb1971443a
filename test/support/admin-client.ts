// A tiny API client that keeps an administrator's session cookie and CSRF token.
export class AdminClient {
  cookie = "";
  csrf = "";
  constructor(public readonly baseUrl: string) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h.cookie = this.cookie;
    if (this.csrf && method !== "GET") h["x-csrf-token"] = this.csrf;
    if (body !== undefined) h["content-type"] = "application/json";
    const res = await fetch(this.baseUrl + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), redirect: "manual" });
    const set = res.headers.get("set-cookie");
    if (set) this.cookie = set.split(";")[0]!;
    return res;
  }

  async signIn(username: string, password: string): Promise<{ passwordChangeRequired: boolean }> {
    const res = await this.request("POST", "/api/v1/auth/sign-in", { username, password });
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

// Console pages for the deployment as a whole: overview, API tokens,
// settings and the room bot, appearance, the audit log and the crash report.
import type { Context } from "hono";
import type { AppContext } from "../../app/context.ts";
import { actorOf } from "../../http/auth.ts";
import { AppError } from "../../http/errors.ts";
import type { AppEnv } from "../../http/types.ts";
import { createToken, listTokens, revokeToken } from "../../modules/access/tokens.service.ts";
import { listRoles } from "../../modules/access/roles.service.ts";
import { listAdmins } from "../../modules/admins/admins.service.ts";
import { audit, auditCsv, listAudit, toFilter } from "../../modules/audit/audit.service.ts";
import { buildCrashReport } from "../../modules/crash-report/crash-report.service.ts";
import { listNetworkSummaries } from "../../modules/networks/networks.service.ts";
import { LOGO_MAX_BYTES } from "../../modules/settings/logo.ts";
import {
  LOGIN_TEXT_MAX,
  getAppearance,
  getDeploymentSettings,
  isRoomBotEnabled,
  removeLogo,
  setLoginText,
  setLogo,
  setRoomBotEnabled,
  updateDeploymentSettings,
} from "../../modules/settings/settings.service.ts";
import { ActionButton, Checkbox, Csrf, ErrorSummary, Field, Pager, Select, TextArea, errorsOf, when, type FieldErrors } from "../components.tsx";
import { readForm, type ConsoleRoute } from "../console-auth.tsx";
import { adminPage, can, csrf } from "./frame.tsx";

export function systemPages(ctx: AppContext): ConsoleRoute[] {
  const overview = (c: Context<AppEnv>) => {
    const a = c.get("admin")!;
    return adminPage(
      c,
      { title: "Overview", current: "/admin" },
      <>
        <ul class="cards">
          {a.permissions.has("networks.read") ? (
            <li>
              <h2>Networks</h2>
              <p>{listNetworkSummaries(ctx, { limit: 1, offset: 0 }).total} network(s)</p>
              <a href="/admin/networks">Manage networks</a>
            </li>
          ) : null}
          {a.permissions.has("admins.read") ? (
            <li>
              <h2>Administrators</h2>
              <p>{listAdmins(ctx, { limit: 1, offset: 0 }).total} administrator(s)</p>
              <a href="/admin/administrators">Manage administrators</a>
            </li>
          ) : null}
          <li>
            <h2>Your account</h2>
            <p>Two-factor sign-in is {a.totpEnabled ? "on" : "off"}.</p>
            <a href="/account/two-factor">Two-factor sign-in</a>
          </li>
          <li>
            <h2>API</h2>
            <p>Every console action is also a REST endpoint.</p>
            <a href="/api/docs">API reference</a>
          </li>
        </ul>
      </>,
    );
  };

  const tokens = (c: Context<AppEnv>, opts: { errors?: FieldErrors; label?: string; roleId?: string; created?: string; status?: number } = {}) => {
    const errors = opts.errors ?? {};
    const offset = Math.max(0, Number(c.req.query("offset")) || 0);
    const { items: rows, total } = listTokens(ctx, { limit: 50, offset });
    return adminPage(
      c,
      { title: "API tokens", current: "/admin/tokens", status: opts.status ?? 200 },
      <>
        <p>
          Scripts use the REST API with a token: <code>Authorization: Bearer &lt;token&gt;</code>. A token can do what its role allows. See the <a href="/api/docs">API reference</a>.
        </p>
        {opts.created ? (
          <section aria-labelledby="new-token" class="notice" role="status">
            <h2 id="new-token">Your new token</h2>
            <p>Copy it now: it is shown only this once. Outpost keeps only a fingerprint of it.</p>
            <p class="secret" id="token-value">
              {opts.created}
            </p>
          </section>
        ) : null}
        {rows.length === 0 ? (
          <p>No tokens.</p>
        ) : (
          <table>
            <caption class="visually-hidden">API tokens</caption>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Starts with</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr>
                  <td>{t.label}</td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>{t.roleName}</td>
                  <td>{when(t.createdAt)}</td>
                  <td>{when(t.lastUsedAt)}</td>
                  <td>{can(c, "tokens.write") ? <ActionButton action={`/admin/tokens/${t.id}/revoke`} csrf={csrf(c)} label={`Revoke ${t.label}`} danger /> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager base="/admin/tokens" query={{}} offset={offset} limit={50} total={total} />
        {can(c, "tokens.write") ? (
          <section aria-labelledby="create-token">
            <h2 id="create-token">Create a token</h2>
            <ErrorSummary errors={errors} labels={{ label: "Label", roleId: "Role" }} />
            <form method="post" action="/admin/tokens" novalidate>
              <Csrf token={csrf(c)} />
              <Field name="label" label="Label" hint="What uses it, e.g. “backup script”." value={opts.label} error={errors.label} required maxlength={100} />
              <Select name="roleId" label="Role" value={opts.roleId ?? "super-administrator"} options={listRoles(ctx).map((r) => ({ value: r.id, label: r.name }))} error={errors.roleId} />
              <button type="submit">Create token</button>
            </form>
          </section>
        ) : null}
      </>,
    );
  };

  const settingsPage = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const s = getDeploymentSettings(ctx);
    const bot = isRoomBotEnabled(ctx);
    return adminPage(
      c,
      { title: "Settings", current: "/admin/settings", status },
      <>
        <ErrorSummary errors={errors} labels={{ adminPasswordMinLength: "Shortest password", lockoutThreshold: "Lockout threshold" }} />
        {can(c, "settings.write") ? (
          <form method="post" action="/admin/settings" novalidate>
            <Csrf token={csrf(c)} />
            <h2>Network targets</h2>
            <Checkbox name="allowPrivateIps" label="Allow private IP addresses" checked={s.allowPrivateIps} hint="Lets SSO and federation targets resolve to private or loopback addresses. Leave off unless those services run inside your network." />
            <h2>Administrator passwords and lockout</h2>
            <Field name="adminPasswordMinLength" label="Shortest password (characters)" type="number" min={8} max={128} value={s.adminPasswordMinLength} error={errors.adminPasswordMinLength} />
            <Checkbox name="adminPasswordRequireMix" label="Require lower case, upper case and digits" checked={s.adminPasswordRequireMix} />
            <Field name="lockoutThreshold" label="Lockout threshold" type="number" min={1} max={100} hint="Failed sign-ins in a row after which an administrator is locked." value={s.lockoutThreshold} error={errors.lockoutThreshold} />
            <button type="submit">Save settings</button>
          </form>
        ) : (
          <dl>
            <dt>Private IP targets</dt>
            <dd>{s.allowPrivateIps ? "allowed" : "refused"}</dd>
            <dt>Shortest administrator password</dt>
            <dd>{s.adminPasswordMinLength}</dd>
            <dt>Lockout threshold</dt>
            <dd>{s.lockoutThreshold}</dd>
          </dl>
        )}
        <h2>Room bot</h2>
        <p>The room bot is {bot ? "enabled" : "disabled"}. Network administrators' default rooms need it.</p>
        {can(c, "roomsbot.write") ? <ActionButton action="/admin/room-bot" csrf={csrf(c)} label={bot ? "Disable the room bot" : "Enable the room bot"} hidden={{ enabled: bot ? "off" : "on" }} /> : null}
      </>,
    );
  };

  const appearancePage = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const a = getAppearance(ctx);
    return adminPage(
      c,
      { title: "Appearance", current: "/admin/appearance", status },
      <>
        <p>The logo and text administrators see on the sign-in page.</p>
        <ErrorSummary errors={errors} labels={{ logo: "Logo", loginText: "Sign-in text" }} />
        <h2>Logo</h2>
        {a.logo ? (
          <p>
            <img class="logo-preview" src={`/appearance/logo?v=${encodeURIComponent(a.logo.etag.replace(/"/g, ""))}`} alt="The current sign-in logo" />
          </p>
        ) : (
          <p>No logo.</p>
        )}
        <form method="post" action="/admin/appearance/logo" enctype="multipart/form-data" novalidate>
          <Csrf token={csrf(c)} />
          <div class={errors.logo ? "field field-error" : "field"}>
            <label for="f-logo">Logo image</label>
            <p class="hint" id="f-logo-hint">
              PNG or JPEG, at most {LOGO_MAX_BYTES / 1024} KiB.
            </p>
            {errors.logo ? (
              <p class="error" id="f-logo-error">
                <span class="visually-hidden">Error: </span>
                {errors.logo}
              </p>
            ) : null}
            <input type="file" id="f-logo" name="logo" accept="image/png,image/jpeg" aria-describedby={errors.logo ? "f-logo-hint f-logo-error" : "f-logo-hint"} aria-invalid={errors.logo ? "true" : undefined} />
          </div>
          <button type="submit">Upload logo</button>
        </form>
        {a.logo ? <ActionButton action="/admin/appearance/logo/remove" csrf={csrf(c)} label="Remove the logo" danger /> : null}
        <h2>Sign-in text</h2>
        <form method="post" action="/admin/appearance/text" novalidate>
          <Csrf token={csrf(c)} />
          <TextArea name="loginText" label="Text shown under the logo" hint={`Plain text, at most ${LOGIN_TEXT_MAX} characters.`} value={a.loginText} error={errors.loginText} maxlength={LOGIN_TEXT_MAX} />
          <button type="submit">Save text</button>
        </form>
      </>,
    );
  };

  const auditPage = (c: Context<AppEnv>) => {
    const q = { actor: c.req.query("actor") ?? "", action: c.req.query("action") ?? "", from: c.req.query("from") ?? "", to: c.req.query("to") ?? "" };
    const errors: FieldErrors = {};
    const toIso = (v: string, field: string) => {
      if (!v) return undefined;
      const d = new Date(v.length === 16 ? `${v}:00Z` : v);
      if (Number.isNaN(d.getTime())) {
        errors[field] = "enter a date and time, e.g. 2026-01-31T14:00";
        return undefined;
      }
      return d.toISOString();
    };
    const filter = toFilter({ actor: q.actor, action: q.action, from: toIso(q.from, "from"), to: toIso(q.to, "to") });
    const offset = Math.max(0, Number(c.req.query("offset")) || 0);
    const limit = 50;
    const r = listAudit(ctx, filter, { limit, offset });
    const csvQuery = new URLSearchParams(Object.entries(q).filter(([, v]) => v));
    return adminPage(
      c,
      { title: "Audit log", current: "/admin/audit", status: Object.keys(errors).length ? 400 : 200 },
      <>
        <form method="get" action="/admin/audit" class="filters">
          <ErrorSummary errors={errors} labels={{ from: "From", to: "To" }} />
          <Field name="actor" label="Actor" hint="Username, or token:<label>." value={q.actor} />
          <Field name="action" label="Action" hint="An action or its beginning, e.g. network. or admin.sign_in." value={q.action} />
          <Field name="from" label="From (UTC)" type="datetime-local" value={q.from} error={errors.from} />
          <Field name="to" label="To (UTC)" type="datetime-local" value={q.to} error={errors.to} />
          <button type="submit">Filter</button> <a href={`/admin/audit.csv${csvQuery.size ? `?${csvQuery}` : ""}`}>Export these entries as CSV</a>
        </form>
        <p>{r.total} entr{r.total === 1 ? "y" : "ies"}</p>
        <table>
          <caption class="visually-hidden">Audit log entries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {r.items.map((e) => (
              <tr>
                <td>{when(e.at)}</td>
                <td>{e.actorName}</td>
                <td>{e.action}</td>
                <td>{e.target ?? ""}</td>
                <td>{e.ip ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <Pager base="/admin/audit" query={q} offset={offset} limit={limit} total={r.total} />
      </>,
    );
  };

  return [
    { method: "GET", path: "/admin", permission: null, handler: (c) => overview(c) },
    { method: "GET", path: "/admin/tokens", permission: "tokens.read", handler: (c) => tokens(c) },
    {
      method: "POST",
      path: "/admin/tokens",
      permission: "tokens.write",
      handler: async (c) => {
        const f = await readForm(c);
        try {
          const r = await createToken(ctx, actorOf(c), { label: f.get("label"), roleId: f.get("roleId") || undefined });
          // Shown once, in this response: the secret is never stored, so it cannot survive a redirect.
          c.header("Cache-Control", "no-store");
          return tokens(c, { created: r.token, status: 201 });
        } catch (e) {
          return tokens(c, { errors: errorsOf(e), label: f.get("label"), roleId: f.get("roleId"), status: (e as AppError).status });
        }
      },
    },
    {
      method: "POST",
      path: "/admin/tokens/:id/revoke",
      permission: "tokens.write",
      handler: async (c) => {
        await revokeToken(ctx, actorOf(c), c.req.param("id")!);
        return c.redirect("/admin/tokens?notice=token-revoked", 303);
      },
    },
    { method: "GET", path: "/admin/settings", permission: "settings.read", handler: (c) => settingsPage(c) },
    {
      method: "POST",
      path: "/admin/settings",
      permission: "settings.write",
      handler: async (c) => {
        const f = await readForm(c);
        const errors: FieldErrors = {};
        const int = (name: string, min: number, max: number) => {
          const n = Number(f.get(name));
          if (!Number.isInteger(n) || n < min || n > max) errors[name] = `enter a whole number from ${min} to ${max}`;
          return n;
        };
        const patch = {
          allowPrivateIps: f.get("allowPrivateIps") === "on",
          adminPasswordMinLength: int("adminPasswordMinLength", 8, 128),
          adminPasswordRequireMix: f.get("adminPasswordRequireMix") === "on",
          lockoutThreshold: int("lockoutThreshold", 1, 100),
        };
        if (Object.keys(errors).length) return settingsPage(c, errors, 400);
        await updateDeploymentSettings(ctx, actorOf(c), patch);
        return c.redirect("/admin/settings?notice=settings-saved", 303);
      },
    },
    {
      method: "POST",
      path: "/admin/room-bot",
      permission: "roomsbot.write",
      handler: async (c) => {
        const on = (await readForm(c)).get("enabled") === "on";
        await setRoomBotEnabled(ctx, actorOf(c), on);
        return c.redirect(`/admin/settings?notice=${on ? "roombot-on" : "roombot-off"}`, 303);
      },
    },
    { method: "GET", path: "/admin/appearance", permission: "appearance.write", handler: (c) => appearancePage(c) },
    {
      method: "POST",
      path: "/admin/appearance/logo",
      permission: "appearance.write",
      handler: async (c) => {
        const file = (await readForm(c)).file("logo");
        try {
          if (!file) throw new AppError("validation_failed", "logo: choose an image file", [{ path: "logo", rule: "required", message: "choose a PNG or JPEG file" }]);
          if (file.size > LOGO_MAX_BYTES) throw new AppError("validation_failed", "logo: too large", [{ path: "logo", rule: "max", message: `must be at most ${LOGO_MAX_BYTES / 1024} KiB` }]);
          await setLogo(ctx, actorOf(c), new Uint8Array(await file.arrayBuffer()));
        } catch (e) {
          return appearancePage(c, errorsOf(e), 400);
        }
        return c.redirect("/admin/appearance?notice=logo-saved", 303);
      },
    },
    {
      method: "POST",
      path: "/admin/appearance/logo/remove",
      permission: "appearance.write",
      handler: async (c) => {
        await removeLogo(ctx, actorOf(c));
        return c.redirect("/admin/appearance?notice=logo-removed", 303);
      },
    },
    {
      method: "POST",
      path: "/admin/appearance/text",
      permission: "appearance.write",
      handler: async (c) => {
        try {
          await setLoginText(ctx, actorOf(c), (await readForm(c)).get("loginText"));
        } catch (e) {
          return appearancePage(c, errorsOf(e), 400);
        }
        return c.redirect("/admin/appearance?notice=text-saved", 303);
      },
    },
    { method: "GET", path: "/admin/audit", permission: "audit.read", handler: (c) => auditPage(c) },
    {
      method: "GET",
      path: "/admin/audit.csv",
      permission: "audit.read",
      handler: (c) => {
        const toIso = (v: string | undefined) => {
          if (!v) return undefined;
          const d = new Date(v.length === 16 ? `${v}:00Z` : v);
          return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
        };
        const csv = auditCsv(ctx, toFilter({ actor: c.req.query("actor"), action: c.req.query("action"), from: toIso(c.req.query("from")), to: toIso(c.req.query("to")) }));
        return c.body(csv, 200, { "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": 'attachment; filename="outpost-audit.csv"' });
      },
    },
    {
      method: "GET",
      path: "/admin/crash-report",
      permission: "crashreport.read",
      handler: (c) =>
        adminPage(
          c,
          { title: "Crash report", current: "/admin/crash-report" },
          <>
            <p>The crash report is a zip archive for support: the most recent log lines, the configuration with every secret removed, software versions and the health checks.</p>
            <p>It never holds passwords, password hashes, tokens, two-factor secrets, session ids or keys, nor any message content.</p>
            <p>
              <a href="/admin/crash-report.zip" download>
                Download the crash report
              </a>
            </p>
          </>,
        ),
    },
    {
      method: "GET",
      path: "/admin/crash-report.zip",
      permission: "crashreport.read",
      handler: async (c) => {
        const zip = await buildCrashReport(ctx);
        await audit(ctx, { actor: actorOf(c), action: "crashreport.download", target: "crash report", details: { bytes: zip.length } });
        return c.body(zip as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/zip", "Content-Disposition": 'attachment; filename="outpost-crash-report.zip"' });
      },
    },
  ];
}

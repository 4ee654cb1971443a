// Pages every administrator uses: sign-in (with the Appearance logo and
// text), sign-out, the forced password change, two-factor enrollment, and
// the network administrators' landing page.
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { raw } from "hono/html";
import type { AppContext } from "../app/context.ts";
import { SESSION_COOKIE } from "../http/auth.ts";
import { AppError } from "../http/errors.ts";
import { clientIp } from "../http/middleware.ts";
import type { App, AppEnv } from "../http/types.ts";
import {
  SESSION_ABSOLUTE_MS,
  changePassword,
  confirmTotpEnrollment,
  disableTotp,
  pendingTotpEnrollment,
  signIn,
  signOut,
  startTotpEnrollment,
} from "../modules/admins/admins.service.ts";
import { adminPasswordRuleText, getAppearance, getDeploymentSettings } from "../modules/settings/settings.service.ts";
import { Csrf, ErrorSummary, Field, Notice, errorsOf, type FieldErrors } from "./components.tsx";
import { consoleGuard, homeOf, readForm } from "./console-auth.tsx";
import { Layout, page } from "./layout.tsx";
import { superNav } from "./admin/nav.ts";

const userOf = (c: Context<AppEnv>) => {
  const a = c.get("admin");
  return a ? { name: a.name, username: a.username, csrf: a.csrfToken } : null;
};

/** Only local console paths are followed after sign-in (no open redirects). */
function safeNext(next: string | undefined): string | null {
  return next && /^\/(admin|network|account)(\/[A-Za-z0-9/_.-]*)?$/.test(next) && !next.includes("..") && !next.includes("//") ? next : null;
}

function navFor(c: Context<AppEnv>) {
  const a = c.get("admin");
  return a?.kind === "super" ? superNav(a.permissions) : [{ href: "/network", label: "My networks" }];
}

export function registerAccountPages(app: App, ctx: AppContext) {
  const secure = ctx.config.tls !== "off";

  const signInPage = (c: Context<AppEnv>, values: { username?: string; next?: string }, errors: FieldErrors, status: 200 | 400 | 401 | 423 = 200) => {
    const look = getAppearance(ctx);
    return c.html(
      page(
        <Layout title="Sign in">
          {look.logo ? <img class="sign-in-logo" src={`/appearance/logo?v=${encodeURIComponent(look.logo.etag.replace(/"/g, ""))}`} alt="" /> : null}
          {look.loginText ? <p class="login-text">{look.loginText}</p> : null}
          <ErrorSummary errors={errors} labels={{ username: "Username", password: "Password", totpCode: "Authentication code" }} />
          <form method="post" action="/sign-in" novalidate>
            {values.next ? <input type="hidden" name="next" value={values.next} /> : null}
            <Field name="username" label="Username" value={values.username} error={errors.username} autocomplete="username" required />
            <Field name="password" label="Password" type="password" error={errors.password} autocomplete="current-password" required />
            <Field
              name="totpCode"
              label="Authentication code"
              hint="Only if two-factor sign-in is on: the 6-digit code from your authenticator app."
              error={errors.totpCode}
              autocomplete="one-time-code"
              inputmode="numeric"
              maxlength={6}
            />
            <button type="submit">Sign in</button>
          </form>
          <p class="hint">Lost your password? An operator with access to the server can run <code>outpost admin reset-password &lt;username&gt;</code>.</p>
        </Layout>,
      ),
      status,
    );
  };

  app.get("/sign-in", (c) => {
    const a = c.get("admin");
    if (a) return c.redirect(a.mustChangePassword ? "/account/password" : homeOf(a), 303);
    return signInPage(c, { next: safeNext(c.req.query("next")) ?? "" }, {});
  });

  app.post("/sign-in", async (c) => {
    const f = await readForm(c);
    const username = f.get("username").trim();
    const next = safeNext(f.get("next"));
    const errors: FieldErrors = {};
    if (!username) errors.username = "enter your username";
    if (!f.get("password")) errors.password = "enter your password";
    if (Object.keys(errors).length) return signInPage(c, { username, next: next ?? "" }, errors, 400);
    try {
      const ip = clientIp(c);
      const { sessionSecret, principal } = await signIn(ctx, {
        username: username.slice(0, 128),
        password: f.get("password").slice(0, 1024),
        totpCode: f.get("totpCode") || undefined,
        ...(ip ? { ip } : {}),
        userAgent: c.req.header("user-agent") ?? "",
      });
      setCookie(c, SESSION_COOKIE, sessionSecret, { httpOnly: true, sameSite: "Strict", secure, path: "/", maxAge: SESSION_ABSOLUTE_MS / 1000 });
      const home = homeOf(principal);
      const target = principal.mustChangePassword ? "/account/password" : next && next.startsWith(home) ? next : next?.startsWith("/account") ? next : home;
      return c.redirect(target, 303);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      const errs = errorsOf(e);
      if (e.code === "invalid_credentials" && !errs.totpCode) return signInPage(c, { username, next: next ?? "" }, { password: "the username or password is wrong" }, 401);
      return signInPage(c, { username, next: next ?? "" }, errs, e.status as 400 | 401 | 423);
    }
  });

  app.post("/sign-out", consoleGuard({ allowDuringPasswordChange: true }), async (c) => {
    await signOut(ctx, c.get("admin")!, clientIp(c));
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/sign-in", 303);
  });

  const passwordPage = (c: Context<AppEnv>, errors: FieldErrors, status: 200 | 400 | 401 = 200) => {
    const a = c.get("admin")!;
    return c.html(
      page(
        <Layout title={a.mustChangePassword ? "Choose a new password" : "Change your password"} user={userOf(c)} nav={a.mustChangePassword ? [] : navFor(c)}>
          {a.mustChangePassword ? <p>You signed in with a one-time password. Choose your own before going on.</p> : null}
          <ErrorSummary errors={errors} labels={{ currentPassword: "Current password", newPassword: "New password", confirmPassword: "Repeat the new password" }} />
          <form method="post" action="/account/password" novalidate>
            <Csrf token={a.csrfToken} />
            <Field name="currentPassword" label="Current password" type="password" autocomplete="current-password" error={errors.currentPassword} required />
            <Field name="newPassword" label="New password" type="password" autocomplete="new-password" hint={adminPasswordRuleText(getDeploymentSettings(ctx))} error={errors.newPassword} required />
            <Field name="confirmPassword" label="Repeat the new password" type="password" autocomplete="new-password" error={errors.confirmPassword} required />
            <button type="submit">Change password</button>
          </form>
        </Layout>,
      ),
      status,
    );
  };
  app.get("/account/password", consoleGuard({ allowDuringPasswordChange: true }), (c) => passwordPage(c, {}));
  app.post("/account/password", consoleGuard({ allowDuringPasswordChange: true }), async (c) => {
    const f = await readForm(c);
    if (f.get("newPassword") !== f.get("confirmPassword")) return passwordPage(c, { confirmPassword: "does not match the new password" }, 400);
    try {
      await changePassword(ctx, c.get("admin")!, { currentPassword: f.get("currentPassword"), newPassword: f.get("newPassword") }, clientIp(c));
    } catch (e) {
      return passwordPage(c, errorsOf(e), (e as AppError).status === 401 ? 401 : 400);
    }
    return c.redirect(`${homeOf(c.get("admin")!)}?notice=password-changed`, 303);
  });

  const twoFactorPage = (c: Context<AppEnv>, errors: FieldErrors, status: 200 | 400 | 401 | 409 = 200) => {
    const a = c.get("admin")!;
    const pending = a.totpEnabled ? null : pendingTotpEnrollment(ctx, a);
    return c.html(
      page(
        <Layout title="Two-factor sign-in" user={userOf(c)} nav={navFor(c)}>
          <Notice text={c.req.query("notice") === "enabled" ? "Two-factor sign-in is on. You will need a code at every sign-in." : c.req.query("notice") === "disabled" ? "Two-factor sign-in is off." : undefined} />
          <ErrorSummary errors={errors} labels={{ code: "Code from the app", currentPassword: "Current password" }} />
          {a.totpEnabled ? (
            <>
              <p>Two-factor sign-in is on: each sign-in needs a 6-digit code from your authenticator app.</p>
              <h2>Turn it off</h2>
              <form method="post" action="/account/two-factor/disable" novalidate>
                <Csrf token={a.csrfToken} />
                <Field name="currentPassword" label="Current password" type="password" autocomplete="current-password" error={errors.currentPassword} required />
                <button type="submit" class="danger">Turn two-factor sign-in off</button>
              </form>
            </>
          ) : pending ? (
            <>
              <h2>1. Add Outpost to your authenticator app</h2>
              <p>Scan this code with an authenticator app (any app following RFC 6238), or type the secret in by hand.</p>
              <div class="qr" role="img" aria-label="QR code of the two-factor secret">
                {raw(pending.qrSvg)}
              </div>
              <p>
                Secret: <span class="secret" id="totp-secret">{pending.secret}</span>
              </p>
              <p class="hint">
                Or open this link on the device with the app: <a href={pending.uri}>otpauth link</a>
              </p>
              <h2>2. Confirm with a code</h2>
              <form method="post" action="/account/two-factor/confirm" novalidate>
                <Csrf token={a.csrfToken} />
                <Field name="code" label="Code from the app" hint="6 digits; it changes every 30 seconds." inputmode="numeric" autocomplete="one-time-code" maxlength={6} error={errors.code} required />
                <button type="submit">Turn two-factor sign-in on</button>
              </form>
            </>
          ) : (
            <>
              <p>Two-factor sign-in is off. With it on, signing in needs your password and a 6-digit code from an authenticator app on your phone.</p>
              <form method="post" action="/account/two-factor/start">
                <Csrf token={a.csrfToken} />
                <button type="submit">Set up two-factor sign-in</button>
              </form>
            </>
          )}
        </Layout>,
      ),
      status,
    );
  };
  app.get("/account/two-factor", consoleGuard({}), (c) => twoFactorPage(c, {}));
  app.post("/account/two-factor/start", consoleGuard({}), async (c) => {
    await startTotpEnrollment(ctx, c.get("admin")!);
    return c.redirect("/account/two-factor", 303);
  });
  app.post("/account/two-factor/confirm", consoleGuard({}), async (c) => {
    const f = await readForm(c);
    try {
      await confirmTotpEnrollment(ctx, c.get("admin")!, f.get("code"), clientIp(c));
    } catch (e) {
      return twoFactorPage(c, errorsOf(e), (e as AppError).status === 409 ? 409 : 400);
    }
    return c.redirect("/account/two-factor?notice=enabled", 303);
  });
  app.post("/account/two-factor/disable", consoleGuard({}), async (c) => {
    const f = await readForm(c);
    try {
      await disableTotp(ctx, c.get("admin")!, f.get("currentPassword"), clientIp(c));
    } catch (e) {
      // Re-render as "on": the principal was loaded before the failed attempt.
      return twoFactorPage(c, errorsOf(e), 401);
    }
    return c.redirect("/account/two-factor?notice=disabled", 303);
  });
  // Network administrators land on /network, served by src/console/network/.
}

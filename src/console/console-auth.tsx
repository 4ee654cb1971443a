// How console pages are guarded and how their failures look: a page needs a
// console session (never an API token), the CSRF token on every POST, a
// changed one-time password, and its permission. Failures render as HTML.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/types.ts";
import { AppError } from "../http/errors.ts";
import type { Permission } from "../modules/access/permissions.ts";
import type { AdminPrincipal } from "../modules/admins/admins.service.ts";
import { Layout, page } from "./layout.tsx";
import { sentence } from "./components.tsx";

export type ConsoleHandler = (c: Context<AppEnv>) => Response | Promise<Response>;

export interface ConsoleRoute {
  method: "GET" | "POST";
  path: string;
  /** null: any signed-in administrator of the console's kind. */
  permission: Permission | null;
  handler: ConsoleHandler;
}

export const CONSOLE_PREFIXES = ["/admin", "/network", "/account", "/sign-in", "/sign-out", "/config"];
export const isConsolePath = (path: string) => CONSOLE_PREFIXES.some((p) => path === p || path.startsWith(p + "/"));

async function formCsrf(c: Context<AppEnv>): Promise<string | undefined> {
  const header = c.req.header("x-csrf-token");
  if (header) return header;
  try {
    const v = (await c.req.raw.clone().formData()).get("_csrf");
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Refuses console form posts that a browser sent from another site. This
 * also covers the sign-in form, which has no session to carry a CSRF token
 * yet. Browsers send Sec-Fetch-Site on every request; Origin may be "null"
 * here (Referrer-Policy: no-referrer), so a named origin is compared only
 * when there is one.
 */
export function sameOrigin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const site = c.req.header("sec-fetch-site");
      if (site === "cross-site" || site === "same-site") throw new AppError("csrf_failed", "this form was sent from another site");
      const origin = c.req.header("origin");
      if (origin && origin !== "null") {
        let host: string | null = null;
        try {
          host = new URL(origin).host;
        } catch {
          host = null;
        }
        if (host !== c.req.header("host")) throw new AppError("csrf_failed", "this form was sent from another site");
      }
    }
    await next();
  };
}

/**
 * Guards a console route. `kind` limits it to super or network
 * administrators; `allowDuringPasswordChange` is for the password page itself.
 */
export function consoleGuard(opts: { kind?: "super" | "network"; permission?: Permission | null; allowDuringPasswordChange?: boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const admin = c.get("admin");
    const safe = c.req.method === "GET" || c.req.method === "HEAD";
    if (!admin) {
      if (safe) return c.redirect(`/sign-in?next=${encodeURIComponent(c.req.path)}`, 303);
      throw new AppError("unauthenticated", "your session has ended; sign in again");
    }
    if (!safe && (await formCsrf(c)) !== admin.csrfToken) {
      throw new AppError("csrf_failed", "the form's security token is missing or out of date; reload the page and try again");
    }
    if (admin.mustChangePassword && !opts.allowDuringPasswordChange) {
      if (safe) return c.redirect("/account/password", 303);
      throw new AppError("password_change_required", "choose a new password first");
    }
    if (opts.kind && admin.kind !== opts.kind) throw new AppError("forbidden", `this page is for ${opts.kind === "super" ? "super" : "network"} administrators`);
    if (opts.permission && !admin.permissions.has(opts.permission)) throw new AppError("forbidden", `your role does not include the ${opts.permission} permission`);
    await next();
  };
}

export function homeOf(admin: AdminPrincipal): string {
  return admin.kind === "super" ? "/admin" : "/network";
}

/** The HTML error page for console paths (the JSON shape stays for the API). */
export function consoleErrorPage(c: Context<AppEnv>, err: AppError): Response {
  const admin = c.get("admin");
  const titles: Partial<Record<string, string>> = { forbidden: "Not allowed", csrf_failed: "Form expired", not_found: "Not found", unauthenticated: "Signed out" };
  const title = titles[err.code] ?? "Something went wrong";
  const body = (
    <Layout title={title} user={admin ? { name: admin.name, username: admin.username, csrf: admin.csrfToken } : null}>
      <p>{sentence(err.message)}</p>
      <p>
        {admin ? <a href={homeOf(admin)}>Back to the console</a> : <a href="/sign-in">Sign in</a>}
      </p>
      <p class="hint">Request id: {c.get("requestId")}</p>
    </Layout>
  );
  return c.html(page(body), err.status);
}

/** Form fields as strings; repeated names (checkbox groups) as arrays via `all`. */
export async function readForm(c: Context<AppEnv>): Promise<{ get(name: string): string; all(name: string): string[]; file(name: string): File | null }> {
  const form = await c.req.formData();
  return {
    get: (name) => {
      const v = form.get(name);
      return typeof v === "string" ? v : "";
    },
    all: (name) => form.getAll(name).filter((v): v is string => typeof v === "string"),
    file: (name) => {
      const v = form.get(name);
      return v instanceof File && v.size > 0 ? v : null;
    },
  };
}

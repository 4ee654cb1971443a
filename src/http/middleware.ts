// Request-wide middleware: request ids, security headers, body size limit, access log.
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError, sendError } from "./errors.ts";
import type { AppEnv } from "./types.ts";
import type { AppContext } from "../app/context.ts";
import { verbosityIncludes } from "../log/logger.ts";

export function requestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const id = incoming && /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
  };
}

export function securityHeaders(opts: { tls: boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    if (!h.has("Content-Security-Policy")) {
      h.set(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      );
    }
    h.set("X-Content-Type-Options", "nosniff");
    h.set("Referrer-Policy", "no-referrer");
    h.set("X-Frame-Options", "DENY");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set("Permissions-Policy", "geolocation=(self), camera=(self), microphone=(self), display-capture=(self)");
    if (opts.tls) h.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  };
}

export function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize,
    onError: (c) => sendError(c, new AppError("payload_too_large", `the request body is larger than ${maxSize} bytes`, { limitBytes: maxSize })),
  });
}

/** One line per request; the client address only at 'ip' verbosity or above. Bodies are never logged. */
export function accessLog(ctx: AppContext): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    await next();
    const line: Record<string, unknown> = {
      requestId: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - start) * 10) / 10,
    };
    if (verbosityIncludes(ctx.log.verbosity.level, "ip")) line.ip = clientIp(c);
    ctx.log.logger.debug(line, "request");
  };
}

export function clientIp(c: { req: { raw: Request }; env?: unknown }): string | undefined {
  // Bun passes the server itself as the fetch handler's second argument (c.env); some adapters wrap it as { server }.
  type WithIp = { requestIP(r: Request): { address: string } | null };
  const env = c.env as (Partial<WithIp> & { server?: WithIp }) | undefined;
  const server = env?.server ?? (typeof env?.requestIP === "function" ? (env as WithIp) : undefined);
  try {
    return server?.requestIP(c.req.raw)?.address;
  } catch {
    return undefined;
  }
}

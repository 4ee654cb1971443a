// One error type, one code→status map, one body shape for every failure:
// { "error": { "code", "message", "details"?, "requestId" } }.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "@hono/zod-openapi";

export const errorCodes = {
  bad_request: 400,
  validation_failed: 400,
  malformed_json: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  totp_required: 401,
  forbidden: 403,
  csrf_failed: 403,
  password_change_required: 403,
  account_locked: 423,
  account_suspended: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorDetail {
  path: string;
  rule: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly details?: ErrorDetail[] | Record<string, unknown>,
  ) {
    super(message);
  }
  get status(): ContentfulStatusCode {
    return errorCodes[this.code];
  }
}

/** zod issues → details naming the field (dotted path) and the rule that failed. */
export function zodDetails(error: z.ZodError, prefix?: string): ErrorDetail[] {
  return error.issues.map((issue) => {
    const parts = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
    if (issue.code === "unrecognized_keys") parts.push(...(issue as { keys: string[] }).keys);
    return { path: parts.join(".") || "(body)", rule: issue.code, message: issue.message };
  });
}

export function validationError(error: z.ZodError, target?: string): AppError {
  const details = zodDetails(error, target === "json" || target === undefined ? undefined : target);
  const first = details[0];
  const message = first ? `${first.path}: ${first.message}` : "the request is not valid";
  return new AppError("validation_failed", message, details);
}

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
      requestId: z.string(),
    }),
  })
  .openapi("Error");

export function errorBody(c: Context, err: AppError) {
  const requestId = (c.get("requestId" as never) as string | undefined) ?? "unknown";
  return { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}), requestId } };
}

export function sendError(c: Context, err: AppError) {
  return c.json(errorBody(c, err), err.status);
}

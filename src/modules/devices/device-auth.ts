// Device bearer credentials for the client API: "Authorization: Bearer <deviceId>.<secret>".
import type { Context } from "hono";
import type { AppContext } from "../../app/context.ts";
import { AppError } from "../../http/errors.ts";
import { authenticateDevice, type DevicePrincipal } from "./devices.service.ts";

export function deviceOf(ctx: AppContext, c: Context): DevicePrincipal {
  const header = c.req.header("authorization") ?? "";
  const m = /^Bearer ([A-Za-z0-9._:-]{1,64})\.([A-Za-z0-9_-]{20,100})$/.exec(header);
  if (!m) throw new AppError("unauthenticated", "send Authorization: Bearer <deviceId>.<device secret>");
  return authenticateDevice(ctx, m[1]!, m[2]!);
}

export const bearerSecurity = [{ deviceBearer: [] as string[] }];

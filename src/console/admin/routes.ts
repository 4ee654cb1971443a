// The super administrator console: every page and form action with the
// permission it needs (tests walk this table to prove each one is enforced).
import type { AppContext } from "../../app/context.ts";
import type { App } from "../../http/types.ts";
import { consoleGuard, type ConsoleRoute } from "../console-auth.tsx";
import { administratorPages } from "./administrators.tsx";
import { callPages } from "./calls.tsx";
import { networkPages } from "./networks.tsx";
import { systemPages } from "./system.tsx";

export function superConsoleRoutes(ctx: AppContext): ConsoleRoute[] {
  return [...systemPages(ctx), ...networkPages(ctx), ...administratorPages(ctx), ...callPages(ctx)];
}

export function registerSuperConsole(app: App, ctx: AppContext) {
  for (const r of superConsoleRoutes(ctx)) {
    app.on(r.method, r.path, consoleGuard({ kind: "super", permission: r.permission }), r.handler);
  }
}

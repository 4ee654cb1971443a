// The network administrator console: every page and form action of
// /network/:nid/... (tests walk this table to prove each one refuses other
// networks' administrators, super administrators, missing CSRF tokens).
import type { AppContext } from "../../app/context.ts";
import type { App } from "../../http/types.ts";
import { consoleGuard, type ConsoleRoute } from "../console-auth.tsx";
import { clientConfigPages, registerConfigLanding } from "./client-configs.tsx";
import { defaultRoomPages } from "./default-rooms.tsx";
import { networkMember } from "./frame.tsx";
import { homePages } from "./home.tsx";
import { smallPages } from "./pages.tsx";
import { securityGroupPages } from "./security-groups.tsx";
import { userPages } from "./users.tsx";

/** Pages under /network/:nid (network-scoped). */
export function networkConsoleRoutes(ctx: AppContext): ConsoleRoute[] {
  return [...smallPages(ctx), ...userPages(ctx), ...securityGroupPages(ctx), ...clientConfigPages(ctx), ...defaultRoomPages(ctx)];
}

export function registerNetworkConsole(app: App, ctx: AppContext) {
  for (const r of homePages(ctx)) app.on(r.method, r.path, consoleGuard({ kind: "network" }), r.handler);
  for (const r of networkConsoleRoutes(ctx)) app.on(r.method, r.path, consoleGuard({ kind: "network" }), networkMember(ctx), r.handler);
  registerConfigLanding(app, ctx);
}

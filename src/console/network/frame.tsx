// The frame of every network administrator page: the shared layout, this
// network's sections, a network switcher for administrators of several
// networks, and the notice after a redirect.
import type { Context, MiddlewareHandler } from "hono";
import type { Child } from "hono/jsx";
import type { AppContext } from "../../app/context.ts";
import { AppError } from "../../http/errors.ts";
import type { AppEnv } from "../../http/types.ts";
import { getNetwork, networksOfAdmin } from "../../modules/networks/networks.service.ts";
import { isNetworkAdmin } from "../../modules/network-admin/network-admin.service.ts";
import { syncDefaultRooms } from "../../modules/network-admin/default-rooms.service.ts";
import { Notice } from "../components.tsx";
import { Layout, page, type NavItem } from "../layout.tsx";

export const sections = (nid: string): NavItem[] => [
  { href: `/network/${nid}`, label: "Dashboard" },
  { href: `/network/${nid}/users`, label: "Team directory" },
  { href: `/network/${nid}/bulk`, label: "Bulk changes" },
  { href: `/network/${nid}/bots`, label: "Bots" },
  { href: `/network/${nid}/guests`, label: "Guest users" },
  { href: `/network/${nid}/security-groups`, label: "Security groups" },
  { href: `/network/${nid}/tags`, label: "Security tags" },
  { href: `/network/${nid}/client-configs`, label: "Client configuration" },
  { href: `/network/${nid}/default-rooms`, label: "Default rooms" },
  { href: `/network/${nid}/profile`, label: "Network profile" },
  { href: `/network/${nid}/administrators`, label: "Administrators" },
  { href: `/network/${nid}/tokens`, label: "API tokens" },
  { href: "/network/account", label: "My account" },
];

export const notices: Record<string, string> = {
  "password-changed": "Your password is changed.",
  "user-created": "The user is created.",
  "user-saved": "The user is saved.",
  "user-suspended": "The user is suspended and their devices are signed out.",
  "user-unsuspended": "The user is active again.",
  "user-deleted": "The user is deleted.",
  "devices-reset": "The user's devices are reset; each must register again.",
  "bot-created": "The bot is created.",
  "bot-saved": "The bot is saved.",
  "bot-deleted": "The bot is deleted.",
  "guest-blocked": "The guest is blocked.",
  "guest-unblocked": "The guest is unblocked.",
  "group-created": "The security group is created.",
  "group-saved": "The security group is saved.",
  "group-deleted": "The security group is deleted; its members are now in Default.",
  "tag-created": "The security tag is created.",
  "tag-saved": "The security tag is saved.",
  "tag-deleted": "The security tag is deleted.",
  "profile-saved": "The network profile is saved.",
  "options-saved": "The options are saved and apply now.",
  "invited": "The invitation is sent. The administrator sees it when they next sign in.",
  "room-created": "The default room is created; its members are added.",
  "room-deleted": "The default room is deleted.",
  "config-expired": "The client configuration is expired.",
  "token-revoked": "The token is revoked.",
  accepted: "You now administer this network.",
  declined: "The invitation is declined.",
};

/** Refuses every /network/:nid page of a network the signed-in administrator does not administer. */
export function networkMember(ctx: AppContext): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const nid = c.req.param("nid");
    if (nid && !isNetworkAdmin(ctx, c.get("admin")!.id, nid)) throw new AppError("forbidden", "you do not administer this network");
    await next();
    // After a successful change, default rooms follow the directory.
    if (nid && c.req.method === "POST" && c.res.status < 400) await syncDefaultRooms(ctx, nid);
  };
}

export const nidOf = (c: Context<AppEnv>) => c.req.param("nid")!;
export const csrf = (c: Context<AppEnv>) => c.get("admin")!.csrfToken;

export function netPage(ctx: AppContext, c: Context<AppEnv>, opts: { title: string; current: string; status?: number; refreshSeconds?: number }, body: Child): Response {
  const a = c.get("admin")!;
  const nid = nidOf(c);
  const network = getNetwork(ctx, nid);
  const mine = networksOfAdmin(ctx, a.id);
  const notice = notices[c.req.query("notice") ?? ""];
  return c.html(
    page(
      <Layout title={opts.title} area={`Network administrator · ${network.name}`} nav={sections(nid)} current={opts.current} refreshSeconds={opts.refreshSeconds} user={{ name: a.name, username: a.username, csrf: a.csrfToken }}>
        {mine.length > 1 ? (
          <form method="get" action="/network/switch" class="switcher">
            <label for="switch-network">Network</label>{" "}
            <select id="switch-network" name="to">
              {mine.map((n) => (
                <option value={n.id} selected={n.id === nid}>
                  {n.name}
                </option>
              ))}
            </select>{" "}
            <button type="submit" class="secondary">
              Switch
            </button>
          </form>
        ) : null}
        <Notice text={notice} />
        {body}
      </Layout>,
    ),
    (opts.status ?? 200) as 200,
  );
}

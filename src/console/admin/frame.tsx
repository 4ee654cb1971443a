// The frame of every super administrator page: layout, navigation for the
// signed-in role, the notice after a redirect.
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../../http/types.ts";
import { Notice } from "../components.tsx";
import { Layout, page } from "../layout.tsx";
import { notices, superNav } from "./nav.ts";

export function adminPage(c: Context<AppEnv>, opts: { title: string; current: string; status?: number }, body: Child): Response {
  const a = c.get("admin")!;
  const notice = notices[c.req.query("notice") ?? ""];
  return c.html(
    page(
      <Layout title={opts.title} area="Super administrator" nav={superNav(a.permissions)} current={opts.current} user={{ name: a.name, username: a.username, csrf: a.csrfToken }}>
        <Notice text={notice} />
        {body}
      </Layout>,
    ),
    (opts.status ?? 200) as 200,
  );
}

export const can = (c: Context<AppEnv>, permission: string) => c.get("admin")!.permissions.has(permission);
export const csrf = (c: Context<AppEnv>) => c.get("admin")!.csrfToken;

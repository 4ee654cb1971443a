// /network: the networks this administrator manages (one goes straight to its
// dashboard), invitations to accept or decline, and the network switcher's target.
import type { Context } from "hono";
import type { AppContext } from "../../app/context.ts";
import type { AppEnv } from "../../http/types.ts";
import { actorOf } from "../../http/auth.ts";
import type { AppError } from "../../http/errors.ts";
import { clientIp } from "../../http/middleware.ts";
import { changeOwnName } from "../../modules/admins/admins.service.ts";
import { networksOfAdmin } from "../../modules/networks/networks.service.ts";
import { answerInvitation, isNetworkAdmin, listInvitationsOf } from "../../modules/network-admin/network-admin.service.ts";
import { ActionButton, Csrf, ErrorSummary, Field, Notice, errorsOf, type FieldErrors } from "../components.tsx";
import { readForm, type ConsoleRoute } from "../console-auth.tsx";
import { Layout, page } from "../layout.tsx";
import { notices } from "./frame.tsx";

export function homePages(ctx: AppContext): ConsoleRoute[] {
  const account = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const a = c.get("admin")!;
    return c.html(
      page(
        <Layout title="My account" area="Network administrator" user={{ name: a.name, username: a.username, csrf: a.csrfToken }} nav={[{ href: "/network", label: "My networks" }, { href: "/network/account", label: "My account" }]} current="/network/account">
          <Notice text={c.req.query("notice") === "name-saved" ? "Your name is saved." : undefined} />
          <ErrorSummary errors={errors} labels={{ name: "Name" }} />
          <form method="post" action="/network/account" novalidate>
            <Csrf token={a.csrfToken} />
            <Field name="name" label="Your name" value={a.name} error={errors.name} required maxlength={100} />
            <button type="submit">Save name</button>
          </form>
          <p>
            <a href="/account/password">Change your password</a> · <a href="/account/two-factor">Two-factor sign-in</a>
          </p>
        </Layout>,
      ),
      status as 200,
    );
  };
  return [
    { method: "GET", path: "/network/account", permission: null, handler: (c) => account(c) },
    {
      method: "POST",
      path: "/network/account",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        try {
          await changeOwnName(ctx, c.get("admin")!, f.get("name"), clientIp(c));
        } catch (e) {
          return account(c, errorsOf(e), (e as AppError).status);
        }
        return c.redirect("/network/account?notice=name-saved", 303);
      },
    },
    {
      method: "GET",
      path: "/network",
      permission: null,
      handler: (c) => {
        const a = c.get("admin")!;
        const nets = networksOfAdmin(ctx, a.id);
        const invitations = listInvitationsOf(ctx, a.id);
        const notice = c.req.query("notice");
        if (nets.length === 1 && !invitations.length && !notice) return c.redirect(`/network/${nets[0]!.id}`, 303);
        return c.html(
          page(
            <Layout title="My networks" area="Network administrator" user={{ name: a.name, username: a.username, csrf: a.csrfToken }} nav={[{ href: "/network", label: "My networks" }, { href: "/network/account", label: "My account" }]} current="/network">
              <Notice text={notices[notice ?? ""]} />
              {invitations.length ? (
                <section aria-labelledby="invitations">
                  <h2 id="invitations">Invitations</h2>
                  <ul>
                    {invitations.map((n) => (
                      <li>
                        {n.name}{" "}
                        <ActionButton action={`/network/invitations/${n.id}`} csrf={a.csrfToken} label={`Accept ${n.name}`} hidden={{ accept: "yes" }} />{" "}
                        <ActionButton action={`/network/invitations/${n.id}`} csrf={a.csrfToken} label={`Decline ${n.name}`} hidden={{ accept: "no" }} />
                      </li>
                    ))}
                  </ul>
                </section>
              ) : null}
              {nets.length ? (
                <ul class="cards">
                  {nets.map((n) => (
                    <li>
                      <h2><a href={`/network/${n.id}`}>{n.name}</a></h2>
                      <p class="hint">{n.federationDomain ? `Federation domain: ${n.federationDomain}` : "No federation domain"}</p>
                    </li>
                  ))}
                </ul>
              ) : (
                <p>You administer no network yet. A super administrator can assign you to one, or another network administrator can invite you.</p>
              )}
            </Layout>,
          ),
        );
      },
    },
    {
      method: "GET",
      path: "/network/switch",
      permission: null,
      handler: (c) => {
        const to = c.req.query("to") ?? "";
        // Only a network this administrator manages; anything else goes back to the list.
        return c.redirect(to && isNetworkAdmin(ctx, c.get("admin")!.id, to) ? `/network/${to}` : "/network", 303);
      },
    },
    {
      method: "POST",
      path: "/network/invitations/:id",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const accept = f.get("accept") === "yes";
        const a = c.get("admin")!;
        await answerInvitation(ctx, { ...actorOf(c), id: a.id }, c.req.param("id")!, accept);
        return c.redirect(accept ? `/network/${c.req.param("id")}?notice=accepted` : "/network?notice=declined", 303);
      },
    },
  ];
}

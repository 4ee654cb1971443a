// The smaller network console pages: dashboard, bots, guests, security tags,
// network profile and options, administrators (invitations) and API tokens.
import type { Context } from "hono";
import type { AppContext } from "../../app/context.ts";
import { actorOf } from "../../http/auth.ts";
import type { AppError } from "../../http/errors.ts";
import type { AppEnv } from "../../http/types.ts";
import { eventLoggingLevels } from "../../db/schema/network-admin.ts";
import { getNetwork, networkSummary, updateNetwork } from "../../modules/networks/networks.service.ts";
import { createUser, deleteUsers, directoryCounts, getUser, listDirectory, updateUser } from "../../modules/users/users.service.ts";
import { listSecurityGroupSummaries, listSecurityGroups } from "../../modules/security-groups/security-groups.service.ts";
import {
  blockGuest, createNetworkToken, findGuest, createTag, deleteTag, getTag, inviteAdministrator, listGuests, listNetworkInvitations, listNetworkTokens, listTags, networkOptionsOf,
  revokeNetworkToken, updateNetworkOptions, updateTag, type EventLogging,
} from "../../modules/network-admin/network-admin.service.ts";
import { ActionButton, Checkbox, Csrf, ErrorSummary, Field, Pager, Select, errorsOf, when, type FieldErrors } from "../components.tsx";
import { readForm, type ConsoleRoute } from "../console-auth.tsx";
import { csrf, netPage, nidOf } from "./frame.tsx";
import { TagList } from "./users.tsx";

const PAGE = 50;
const verbosityLabels: Record<EventLogging, string> = {
  activity: "Activity: who signed in, what administrators changed",
  ip: "Activity and IP addresses",
  messaging: "Activity, IP addresses and messaging events (never message contents)",
  userid: "All of the above with user ids",
};

export function smallPages(ctx: AppContext): ConsoleRoute[] {
  const dashboard = (c: Context<AppEnv>) => {
    const nid = nidOf(c);
    const counts = directoryCounts(ctx, nid);
    const groups = listSecurityGroupSummaries(ctx, nid);
    return netPage(
      ctx,
      c,
      { title: "Dashboard", current: `/network/${nid}` },
      <>
        <ul class="cards">
          <li><h2>Users</h2><dl>
            <dt>Active</dt><dd>{counts.byStatus.active}</dd>
            <dt>Pending</dt><dd>{counts.byStatus.pending}</dd>
            <dt>Suspended</dt><dd>{counts.byStatus.suspended}</dd>
            <dt>Restricted</dt><dd>{counts.byStatus.restricted}</dd>
          </dl></li>
          <li><h2>Devices</h2><p class="big">{counts.devices}</p></li>
          <li><h2>Bots</h2><p class="big">{counts.bots}</p></li>
          <li><h2>Security groups</h2><p class="big">{groups.length}</p></li>
        </ul>
      </>,
    );
  };

  const bots = (c: Context<AppEnv>, errors: FieldErrors = {}, values: Record<string, string> = {}, status = 200) => {
    const nid = nidOf(c);
    const offset = Math.max(0, Number(c.req.query("offset")) || 0);
    const r = listDirectory(ctx, nid, { type: "bot", limit: PAGE, offset });
    const base = `/network/${nid}/bots`;
    return netPage(
      ctx,
      c,
      { title: "Bots", current: base, status },
      <>
        {r.items.length ? (
          <table>
            <caption class="visually-hidden">Bots</caption>
            <thead><tr><th scope="col">Username</th><th scope="col">Status</th><th scope="col">Security group</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {r.items.map((b) => (
                <tr>
                  <td>{b.username}</td>
                  <td>{b.status}</td>
                  <td>{b.securityGroupName}</td>
                  <td>
                    {b.status === "pending" ? <a href={`${base}/${b.id}`}>Edit</a> : <span class="hint">In use; no longer editable</span>}{" "}
                    <ActionButton action={`${base}/${b.id}/delete`} csrf={csrf(c)} label={`Delete ${b.username}`} danger />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : <p>No bots yet.</p>}
        <Pager base={base} query={{}} offset={offset} limit={PAGE} total={r.total} />
        <h2>Create a bot</h2>
        <ErrorSummary errors={errors} labels={{ username: "Username", password: "Password", securityGroupId: "Security group" }} />
        <form method="post" action={base} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="username" label="Username" value={values.username} error={errors.username} hint='Must end in "bot", e.g. alertsbot.' required />
          <Field name="password" label="Password" type="password" error={errors.password} autocomplete="new-password" required />
          <Select name="securityGroupId" label="Security group" options={listSecurityGroups(ctx, nid).map((g) => ({ value: g.id, label: g.name }))} value={values.securityGroupId} />
          <button type="submit">Create bot</button>
        </form>
      </>,
    );
  };

  const botEdit = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const nid = nidOf(c);
    const b = getUser(ctx, nid, c.req.param("id")!);
    if (b.type !== "bot") return c.notFound();
    return netPage(
      ctx,
      c,
      { title: `Bot ${b.username}`, current: `/network/${nid}/bots`, status },
      <>
        <ErrorSummary errors={errors} labels={{ firstName: "Display name", securityGroupId: "Security group", password: "Password" }} />
        <form method="post" action={`/network/${nid}/bots/${b.id}`} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="firstName" label="Display name" value={b.firstName} error={errors.firstName} />
          <Select name="securityGroupId" label="Security group" options={listSecurityGroups(ctx, nid).map((g) => ({ value: g.id, label: g.name }))} value={b.securityGroupId} />
          <Field name="password" label="New password (optional)" type="password" error={errors.password} autocomplete="new-password" />
          <button type="submit">Save bot</button>
        </form>
      </>,
    );
  };

  const guests = (c: Context<AppEnv>, errors: FieldErrors = {}, values: Record<string, string> = {}, status = 200) => {
    const nid = nidOf(c);
    const offset = Math.max(0, Number(c.req.query("offset")) || 0);
    const r = listGuests(ctx, nid, { limit: PAGE, offset });
    const base = `/network/${nid}/guests`;
    return netPage(
      ctx,
      c,
      { title: "Guest users", current: base, status },
      <>
        <p>Users of other networks who share a conversation with this network's users. A blocked guest cannot reach anyone here.</p>
        {r.items.length ? (
          <table>
            <caption class="visually-hidden">Guest users</caption>
            <thead><tr><th scope="col">Username</th><th scope="col">Their network</th><th scope="col">State</th><th scope="col">Action</th></tr></thead>
            <tbody>
              {r.items.map((g) => (
                <tr>
                  <td>{g.username}</td>
                  <td>{g.networkName}</td>
                  <td>{g.blocked ? "Blocked" : "Allowed"}</td>
                  <td>{g.blocked ? <ActionButton action={`${base}/${g.userId}/unblock`} csrf={csrf(c)} label={`Unblock ${g.username}`} /> : <ActionButton action={`${base}/${g.userId}/block`} csrf={csrf(c)} label={`Block ${g.username}`} danger />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : <p>No guests have talked with this network.</p>}
        <Pager base={base} query={{}} offset={offset} limit={PAGE} total={r.total} />
        <h2>Block a guest before they write</h2>
        <ErrorSummary errors={errors} labels={{ guestNetworkId: "Guest's network id", username: "Guest's username" }} />
        <form method="post" action={base} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="guestNetworkId" label="Guest's network id" value={values.guestNetworkId} error={errors.guestNetworkId} required />
          <Field name="username" label="Guest's username" value={values.username} error={errors.username} required />
          <button type="submit" class="danger">Block guest</button>
        </form>
      </>,
    );
  };

  const tagsPage = (c: Context<AppEnv>, errors: FieldErrors = {}, values: Record<string, string> = {}, status = 200) => {
    const nid = nidOf(c);
    const tags = listTags(ctx, nid);
    const groups = listSecurityGroups(ctx, nid);
    const base = `/network/${nid}/tags`;
    const kindOptions = [{ value: "network", label: "Network tag" }, { value: "override", label: "Override tag (replaces the network tags for its groups)" }];
    return netPage(
      ctx,
      c,
      { title: "Security tags", current: base, status },
      <>
        <p>Tags label security groups and are shown with their members. Apply them on each security group's page.</p>
        {tags.length ? (
          <table>
            <caption class="visually-hidden">Security tags</caption>
            <thead><tr><th scope="col">Tag</th><th scope="col">Kind</th><th scope="col">Groups</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {tags.map((t) => (
                <tr>
                  <td><TagList tags={[t]} /></td>
                  <td>{t.kind === "override" ? "Override" : "Network"}</td>
                  <td>{groups.filter((g) => t.groupIds.includes(g.id)).map((g) => g.name).join(", ") || "none"}</td>
                  <td>
                    <form method="post" action={`${base}/${t.id}`} class="inline">
                      <Csrf token={csrf(c)} />
                      <input type="hidden" name="name" value={t.name} />
                      <input type="hidden" name="kind" value={t.kind} />
                      <label for={`colour-${t.id}`} class="visually-hidden">Colour of {t.name}</label>
                      <input id={`colour-${t.id}`} type="color" name="colour" value={t.colour} />{" "}
                      <button type="submit" class="secondary">Save colour</button>
                    </form>{" "}
                    <ActionButton action={`${base}/${t.id}/delete`} csrf={csrf(c)} label={`Delete ${t.name}`} danger />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : <p>No security tags yet.</p>}
        <h2>Create a tag</h2>
        <ErrorSummary errors={errors} labels={{ name: "Name", kind: "Kind", colour: "Colour" }} />
        <form method="post" action={base} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="name" label="Name" value={values.name} error={errors.name} maxlength={50} required />
          <Select name="kind" label="Kind" options={kindOptions} value={values.kind} error={errors.kind} />
          <Field name="colour" label="Colour" type="color" value={values.colour ?? "#1f6feb"} error={errors.colour} />
          <button type="submit">Create tag</button>
        </form>
      </>,
    );
  };

  const profile = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const nid = nidOf(c);
    const n = getNetwork(ctx, nid);
    const o = networkOptionsOf(ctx, nid);
    const base = `/network/${nid}/profile`;
    return netPage(
      ctx,
      c,
      { title: "Network profile", current: base, status },
      <>
        <dl>
          <dt>Network id</dt><dd><code>{n.id}</code> <span class="hint">(other deployments use it to federate with this network)</span></dd>
          <dt>Calling TCP port</dt><dd>{ctx.config.callingTcpPort} <span class="hint">(calls that cannot use UDP go through this one port)</span></dd>
          <dt>Running log verbosity</dt><dd>{verbosityLabels[ctx.log.verbosity.level]}</dd>
        </dl>
        <ErrorSummary errors={errors} labels={{ name: "Name" }} />
        <h2>Profile</h2>
        <form method="post" action={base} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="name" label="Network name" value={n.name} error={errors.name} required maxlength={100} />
          <Checkbox name="readReceipts" label="Read receipts" checked={n.readReceipts} hint="When off, the server drops read receipts in this network." />
          <button type="submit">Save profile</button>
        </form>
        <h2>Options</h2>
        <form method="post" action={`/network/${nid}/options`} novalidate>
          <Csrf token={csrf(c)} />
          <Checkbox name="fileManagement" label="File management" checked={o.fileManagement} hint="Lets users see and manage the files shared in their conversations." />
          <Select name="eventLogging" label="Event-logging verbosity" options={eventLoggingLevels.map((l) => ({ value: l, label: verbosityLabels[l] }))} value={o.eventLogging} hint="Applies at once to the running server's logs." />
          <button type="submit">Save options</button>
        </form>
      </>,
    );
  };

  const administrators = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const nid = nidOf(c);
    const s = networkSummary(ctx, nid);
    const pending = listNetworkInvitations(ctx, nid);
    const base = `/network/${nid}/administrators`;
    return netPage(
      ctx,
      c,
      { title: "Administrators", current: base, status },
      <>
        <ul>{s.administrators.map((a) => <li>{a.name} ({a.username})</li>)}</ul>
        {pending.length ? (
          <>
            <h2>Invited</h2>
            <ul>{pending.map((p) => <li>{p.name} ({p.username}), invited {when(p.createdAt)}</li>)}</ul>
          </>
        ) : null}
        <h2>Grant admin privileges</h2>
        <ErrorSummary errors={errors} labels={{ username: "Username" }} />
        <form method="post" action={base} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="username" label="Username of an existing network administrator" error={errors.username} required />
          <button type="submit">Invite</button>
        </form>
      </>,
    );
  };

  const tokens = (c: Context<AppEnv>, created?: string, errors: FieldErrors = {}, status = 200) => {
    const nid = nidOf(c);
    const list = listNetworkTokens(ctx, nid);
    const base = `/network/${nid}/tokens`;
    return netPage(
      ctx,
      c,
      { title: "API tokens", current: base, status },
      <>
        <p>Tokens reach this network's API (<code>/api/v1/networks/{nid}/…</code>) and nothing else.</p>
        {created ? (
          <div class="notice" role="status">
            <p>Copy the token now; it is not shown again:</p>
            <p class="secret">{created}</p>
          </div>
        ) : null}
        {list.length ? (
          <table>
            <caption class="visually-hidden">API tokens</caption>
            <thead><tr><th scope="col">Label</th><th scope="col">Starts with</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Action</th></tr></thead>
            <tbody>
              {list.map((t) => (
                <tr><td>{t.label}</td><td><code>{t.prefix}</code></td><td>{when(t.createdAt)}</td><td>{when(t.lastUsedAt)}</td><td><ActionButton action={`${base}/${t.id}/revoke`} csrf={csrf(c)} label={`Revoke ${t.label}`} danger /></td></tr>
              ))}
            </tbody>
          </table>
        ) : <p>No tokens yet.</p>}
        <h2>Create a token</h2>
        <ErrorSummary errors={errors} labels={{ label: "Label" }} />
        <form method="post" action={base} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="label" label="Label" error={errors.label} required maxlength={100} />
          <button type="submit">Create token</button>
        </form>
      </>,
    );
  };

  const redirect = (c: Context<AppEnv>, section: string, notice: string) => c.redirect(`/network/${nidOf(c)}/${section}?notice=${notice}`, 303);

  return [
    { method: "GET", path: "/network/:nid", permission: null, handler: dashboard },
    { method: "GET", path: "/network/:nid/bots", permission: null, handler: (c) => bots(c) },
    {
      method: "POST",
      path: "/network/:nid/bots",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const values = { username: f.get("username"), securityGroupId: f.get("securityGroupId") };
        try {
          await createUser(ctx, { networkId: nidOf(c), username: values.username, password: f.get("password"), type: "bot", ...(values.securityGroupId ? { securityGroupId: values.securityGroupId } : {}) }, actorOf(c));
        } catch (e) {
          return bots(c, errorsOf(e), values, (e as AppError).status);
        }
        return redirect(c, "bots", "bot-created");
      },
    },
    { method: "GET", path: "/network/:nid/bots/:id", permission: null, handler: (c) => botEdit(c) },
    {
      method: "POST",
      path: "/network/:nid/bots/:id",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const b = getUser(ctx, nidOf(c), c.req.param("id")!);
        if (b.type !== "bot") return c.notFound();
        try {
          await updateUser(ctx, actorOf(c), nidOf(c), b.id, { firstName: f.get("firstName"), securityGroupId: f.get("securityGroupId") || undefined, password: f.get("password") || undefined });
        } catch (e) {
          return botEdit(c, errorsOf(e), (e as AppError).status);
        }
        return redirect(c, "bots", "bot-saved");
      },
    },
    {
      method: "POST",
      path: "/network/:nid/bots/:id/delete",
      permission: null,
      handler: async (c) => {
        const b = getUser(ctx, nidOf(c), c.req.param("id")!);
        if (b.type !== "bot") return c.notFound();
        await deleteUsers(ctx, actorOf(c), nidOf(c), [b.id]);
        return redirect(c, "bots", "bot-deleted");
      },
    },
    { method: "GET", path: "/network/:nid/guests", permission: null, handler: (c) => guests(c) },
    {
      method: "POST",
      path: "/network/:nid/guests",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const values = { guestNetworkId: f.get("guestNetworkId"), username: f.get("username") };
        try {
          const g = findGuest(ctx, nidOf(c), values.guestNetworkId, values.username);
          await blockGuest(ctx, actorOf(c), nidOf(c), g.id, true);
        } catch (e) {
          return guests(c, errorsOf(e), values, (e as AppError).status);
        }
        return redirect(c, "guests", "guest-blocked");
      },
    },
    {
      method: "POST",
      path: "/network/:nid/guests/:id/block",
      permission: null,
      handler: async (c) => {
        await blockGuest(ctx, actorOf(c), nidOf(c), c.req.param("id")!, true);
        return redirect(c, "guests", "guest-blocked");
      },
    },
    {
      method: "POST",
      path: "/network/:nid/guests/:id/unblock",
      permission: null,
      handler: async (c) => {
        await blockGuest(ctx, actorOf(c), nidOf(c), c.req.param("id")!, false);
        return redirect(c, "guests", "guest-unblocked");
      },
    },
    { method: "GET", path: "/network/:nid/tags", permission: null, handler: (c) => tagsPage(c) },
    {
      method: "POST",
      path: "/network/:nid/tags",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const values = { name: f.get("name"), kind: f.get("kind"), colour: f.get("colour") };
        try {
          await createTag(ctx, actorOf(c), nidOf(c), values);
        } catch (e) {
          return tagsPage(c, errorsOf(e), values, (e as AppError).status);
        }
        return redirect(c, "tags", "tag-created");
      },
    },
    {
      method: "POST",
      path: "/network/:nid/tags/:id",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        getTag(ctx, nidOf(c), c.req.param("id")!);
        try {
          await updateTag(ctx, actorOf(c), nidOf(c), c.req.param("id")!, { name: f.get("name"), kind: f.get("kind"), colour: f.get("colour") });
        } catch (e) {
          return tagsPage(c, errorsOf(e), {}, (e as AppError).status);
        }
        return redirect(c, "tags", "tag-saved");
      },
    },
    {
      method: "POST",
      path: "/network/:nid/tags/:id/delete",
      permission: null,
      handler: async (c) => {
        await deleteTag(ctx, actorOf(c), nidOf(c), c.req.param("id")!);
        return redirect(c, "tags", "tag-deleted");
      },
    },
    { method: "GET", path: "/network/:nid/profile", permission: null, handler: (c) => profile(c) },
    {
      method: "POST",
      path: "/network/:nid/profile",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        try {
          await updateNetwork(ctx, nidOf(c), { name: f.get("name"), readReceipts: f.get("readReceipts") === "on" }, actorOf(c));
        } catch (e) {
          return profile(c, errorsOf(e), (e as AppError).status);
        }
        return redirect(c, "profile", "profile-saved");
      },
    },
    {
      method: "POST",
      path: "/network/:nid/options",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const level = f.get("eventLogging");
        const eventLogging = (eventLoggingLevels as readonly string[]).includes(level) ? (level as EventLogging) : undefined;
        if (!eventLogging) return profile(c, { _form: "choose an event-logging verbosity from the list" }, 400);
        await updateNetworkOptions(ctx, actorOf(c), nidOf(c), { fileManagement: f.get("fileManagement") === "on", eventLogging });
        return redirect(c, "profile", "options-saved");
      },
    },
    { method: "GET", path: "/network/:nid/administrators", permission: null, handler: (c) => administrators(c) },
    {
      method: "POST",
      path: "/network/:nid/administrators",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        try {
          await inviteAdministrator(ctx, actorOf(c), nidOf(c), f.get("username"));
        } catch (e) {
          return administrators(c, errorsOf(e), (e as AppError).status);
        }
        return redirect(c, "administrators", "invited");
      },
    },
    { method: "GET", path: "/network/:nid/tokens", permission: null, handler: (c) => tokens(c) },
    {
      method: "POST",
      path: "/network/:nid/tokens",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        try {
          const t = await createNetworkToken(ctx, actorOf(c), nidOf(c), f.get("label"));
          return tokens(c, t.token, {}, 201);
        } catch (e) {
          return tokens(c, undefined, errorsOf(e), (e as AppError).status);
        }
      },
    },
    {
      method: "POST",
      path: "/network/:nid/tokens/:id/revoke",
      permission: null,
      handler: async (c) => {
        await revokeNetworkToken(ctx, actorOf(c), nidOf(c), c.req.param("id")!);
        return redirect(c, "tokens", "token-revoked");
      },
    },
  ];
}

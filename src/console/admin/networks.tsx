// Console pages for networks: list and create, rename, choose administrators,
// delete with a confirmation that spells out what goes with the network.
import type { Context } from "hono";
import { eq } from "drizzle-orm";
import type { AppContext } from "../../app/context.ts";
import { administrators } from "../../db/schema/index.ts";
import { actorOf } from "../../http/auth.ts";
import type { AppError } from "../../http/errors.ts";
import type { AppEnv } from "../../http/types.ts";
import { createNetwork, deleteNetwork, listNetworkSummaries, networkSummary, renameNetwork, setNetworkAdministrators } from "../../modules/networks/networks.service.ts";
import { Checkboxes, Csrf, ErrorSummary, Field, Pager, errorsOf, type FieldErrors } from "../components.tsx";
import { readForm, type ConsoleRoute } from "../console-auth.tsx";
import { adminPage, can, csrf } from "./frame.tsx";

const PAGE = 50;
const labels = { name: "Name", federationDomain: "Federation domain", adminIds: "Administrators", confirmName: "Network name" };

function networkAdminOptions(ctx: AppContext) {
  return ctx.storage
    .read()
    .select({ id: administrators.id, username: administrators.username, name: administrators.name })
    .from(administrators)
    .where(eq(administrators.kind, "network"))
    .orderBy(administrators.username)
    .all()
    .map((a) => ({ value: a.id, label: `${a.name} (${a.username})` }));
}

export function networkPages(ctx: AppContext): ConsoleRoute[] {
  const list = (c: Context<AppEnv>, errors: FieldErrors = {}, values: { name?: string; federationDomain?: string; adminIds?: string[] } = {}, status = 200) => {
    const offset = Math.max(0, Number(c.req.query("offset")) || 0);
    const r = listNetworkSummaries(ctx, { limit: PAGE, offset });
    return adminPage(
      c,
      { title: "Networks", current: "/admin/networks", status },
      <>
        {r.total === 0 ? (
          <p>No networks yet.</p>
        ) : (
          <table>
            <caption class="visually-hidden">Networks</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Federation domain</th>
                <th scope="col">Administrators</th>
                <th scope="col">Users</th>
              </tr>
            </thead>
            <tbody>
              {r.items.map((n) => (
                <tr>
                  <td>
                    <a href={`/admin/networks/${n.id}`}>{n.name}</a>
                  </td>
                  <td>{n.federationDomain ?? "—"}</td>
                  <td>{n.administrators.map((a) => a.username).join(", ") || "none"}</td>
                  <td>{n.userCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager base="/admin/networks" query={{}} offset={offset} limit={PAGE} total={r.total} />
        {can(c, "networks.write") ? (
          <section aria-labelledby="create-network">
            <h2 id="create-network">Create a network</h2>
            <ErrorSummary errors={errors} labels={labels} />
            <form method="post" action="/admin/networks" novalidate>
              <Csrf token={csrf(c)} />
              <Field name="name" label="Name" value={values.name} error={errors.name} required maxlength={100} />
              <Field name="federationDomain" label="Federation domain (optional)" hint="The domain other deployments use to reach this network, e.g. chat.example.org." value={values.federationDomain} error={errors.federationDomain} />
              <Checkboxes name="adminIds" legend="Administrators" options={networkAdminOptions(ctx)} checked={values.adminIds ?? []} error={errors.adminIds} />
              <p class="hint">
                To create a new administrator together with a network, use <a href="/admin/administrators">Administrators</a>.
              </p>
              <button type="submit">Create network</button>
            </form>
          </section>
        ) : null}
      </>,
    );
  };

  const detail = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const n = networkSummary(ctx, c.req.param("id")!);
    const writable = can(c, "networks.write");
    return adminPage(
      c,
      { title: `Network ${n.name}`, current: "/admin/networks", status },
      <>
        <p>
          <a href="/admin/networks">All networks</a>
        </p>
        <dl>
          <dt>Users</dt>
          <dd>{n.userCount}</dd>
          <dt>Security groups</dt>
          <dd>{n.securityGroupCount}</dd>
          <dt>Created</dt>
          <dd>{n.createdAt.toISOString().slice(0, 10)}</dd>
        </dl>
        <ErrorSummary errors={errors} labels={labels} />
        {writable ? (
          <>
            <h2>Name and federation domain</h2>
            <form method="post" action={`/admin/networks/${n.id}/rename`} novalidate>
              <Csrf token={csrf(c)} />
              <Field name="name" label="Name" value={n.name} error={errors.name} required maxlength={100} />
              <Field name="federationDomain" label="Federation domain (optional)" value={n.federationDomain} error={errors.federationDomain} />
              <button type="submit">Save</button>
            </form>
            <h2>Administrators</h2>
            <form method="post" action={`/admin/networks/${n.id}/administrators`}>
              <Csrf token={csrf(c)} />
              <Checkboxes name="adminIds" legend="Network administrators of this network" options={networkAdminOptions(ctx)} checked={n.administrators.map((a) => a.id)} error={errors.adminIds} />
              <button type="submit">Save administrators</button>
            </form>
            <h2>Delete</h2>
            <p>
              <a href={`/admin/networks/${n.id}/delete`}>Delete this network…</a>
            </p>
          </>
        ) : (
          <>
            <h2>Administrators</h2>
            <p>{n.administrators.map((a) => `${a.name} (${a.username})`).join(", ") || "none"}</p>
          </>
        )}
      </>,
    );
  };

  const confirmDelete = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const n = networkSummary(ctx, c.req.param("id")!);
    return adminPage(
      c,
      { title: `Delete network ${n.name}?`, current: "/admin/networks", status },
      <div class="danger-zone">
        <p>Deleting the network removes, for good:</p>
        <ul>
          <li>{n.userCount} user account(s) and everything stored for them on this server,</li>
          <li>{n.securityGroupCount} security group(s) and their settings,</li>
          <li>the assignment of {n.administrators.length} administrator(s) to this network (the administrator accounts themselves stay).</li>
        </ul>
        <p>This cannot be undone.</p>
        <ErrorSummary errors={errors} labels={labels} />
        <form method="post" action={`/admin/networks/${n.id}/delete`} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="confirmName" label={`Type the network's name (${n.name}) to confirm`} error={errors.confirmName} required autocomplete="off" />
          <button type="submit" class="danger">
            Delete network
          </button>{" "}
          <a href={`/admin/networks/${n.id}`}>Cancel</a>
        </form>
      </div>,
    );
  };

  return [
    { method: "GET", path: "/admin/networks", permission: "networks.read", handler: (c) => list(c) },
    {
      method: "POST",
      path: "/admin/networks",
      permission: "networks.write",
      handler: async (c) => {
        const f = await readForm(c);
        const values = { name: f.get("name"), federationDomain: f.get("federationDomain"), adminIds: f.all("adminIds") };
        try {
          const n = await createNetwork(ctx, { name: values.name, federationDomain: values.federationDomain || null, adminIds: values.adminIds }, actorOf(c));
          return c.redirect(`/admin/networks/${n.id}?notice=network-created`, 303);
        } catch (e) {
          return list(c, errorsOf(e), values, (e as AppError).status);
        }
      },
    },
    { method: "GET", path: "/admin/networks/:id", permission: "networks.read", handler: (c) => detail(c) },
    {
      method: "POST",
      path: "/admin/networks/:id/rename",
      permission: "networks.write",
      handler: async (c) => {
        const f = await readForm(c);
        try {
          await renameNetwork(ctx, actorOf(c), c.req.param("id")!, { name: f.get("name"), federationDomain: f.get("federationDomain") || null });
        } catch (e) {
          if ((e as AppError).code === "not_found") throw e;
          return detail(c, errorsOf(e), (e as AppError).status);
        }
        return c.redirect(`/admin/networks/${c.req.param("id")}?notice=network-renamed`, 303);
      },
    },
    {
      method: "POST",
      path: "/admin/networks/:id/administrators",
      permission: "networks.write",
      handler: async (c) => {
        const f = await readForm(c);
        try {
          await setNetworkAdministrators(ctx, actorOf(c), c.req.param("id")!, f.all("adminIds"));
        } catch (e) {
          if ((e as AppError).code === "not_found") throw e;
          return detail(c, errorsOf(e), (e as AppError).status);
        }
        return c.redirect(`/admin/networks/${c.req.param("id")}?notice=network-admins`, 303);
      },
    },
    { method: "GET", path: "/admin/networks/:id/delete", permission: "networks.write", handler: (c) => confirmDelete(c) },
    {
      method: "POST",
      path: "/admin/networks/:id/delete",
      permission: "networks.write",
      handler: async (c) => {
        const f = await readForm(c);
        const n = networkSummary(ctx, c.req.param("id")!);
        if (f.get("confirmName").trim() !== n.name) return confirmDelete(c, { confirmName: "type the network's name exactly to confirm" }, 400);
        await deleteNetwork(ctx, actorOf(c), n.id);
        return c.redirect("/admin/networks?notice=network-deleted", 303);
      },
    },
  ];
}

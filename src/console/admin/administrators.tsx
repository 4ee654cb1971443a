// Console pages for administrators (create with a new or existing network,
// set password, change role, delete), roles, and the lockout list.
import type { Context } from "hono";
import type { AppContext } from "../../app/context.ts";
import { actorOf } from "../../http/auth.ts";
import type { AppError } from "../../http/errors.ts";
import type { AppEnv } from "../../http/types.ts";
import { createAdmin, deleteAdmin, getAdmin, listAdmins, listLockouts, setAdminPassword, setAdminRole, unlockAdmin } from "../../modules/admins/admins.service.ts";
import { permissions } from "../../modules/access/permissions.ts";
import { createRole, deleteRole, getRole, listRoles, updateRole } from "../../modules/access/roles.service.ts";
import { listNetworks } from "../../modules/networks/networks.service.ts";
import { adminPasswordRuleText, getDeploymentSettings } from "../../modules/settings/settings.service.ts";
import { ActionButton, Checkboxes, Csrf, ErrorSummary, Field, Pager, Select, errorsOf, when, type FieldErrors } from "../components.tsx";
import { readForm, type ConsoleRoute } from "../console-auth.tsx";
import { adminPage, can, csrf } from "./frame.tsx";

const PAGE = 50;
const adminLabels = { name: "Full name", username: "Username", password: "Password", kind: "Kind", roleId: "Role", networkId: "Network", newNetworkName: "New network name" };
type Values = Record<string, string>;

export function administratorPages(ctx: AppContext): ConsoleRoute[] {
  const roleOptions = () => listRoles(ctx).map((r) => ({ value: r.id, label: r.name }));

  const list = (c: Context<AppEnv>, errors: FieldErrors = {}, v: Values = {}, status = 200) => {
    const offset = Math.max(0, Number(c.req.query("offset")) || 0);
    const r = listAdmins(ctx, { limit: PAGE, offset });
    return adminPage(
      c,
      { title: "Administrators", current: "/admin/administrators", status },
      <>
        <table>
          <caption class="visually-hidden">Administrators</caption>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Role or networks</th>
              <th scope="col">Two-factor</th>
            </tr>
          </thead>
          <tbody>
            {r.items.map((a) => (
              <tr>
                <td>
                  <a href={`/admin/administrators/${a.id}`}>{a.username}</a>
                </td>
                <td>{a.name}</td>
                <td>{a.kind === "super" ? "Super administrator" : "Network administrator"}</td>
                <td>{a.kind === "super" ? (a.roleName ?? "no role") : a.networks.map((n) => n.name).join(", ") || "no network"}</td>
                <td>{a.totpEnabled ? "on" : "off"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <Pager base="/admin/administrators" query={{}} offset={offset} limit={PAGE} total={r.total} />
        {can(c, "admins.write") ? (
          <section aria-labelledby="create-admin">
            <h2 id="create-admin">Create an administrator</h2>
            <ErrorSummary errors={errors} labels={adminLabels} />
            <form method="post" action="/admin/administrators" novalidate>
              <Csrf token={csrf(c)} />
              <Field name="name" label="Full name" value={v.name} error={errors.name} required maxlength={100} />
              <Field name="username" label="Username" hint="3 to 64 characters: letters, digits, dot, dash, underscore." value={v.username} error={errors.username} required autocomplete="off" />
              <Field name="password" label="Initial password" type="password" hint={`${adminPasswordRuleText(getDeploymentSettings(ctx))} They must change it at first sign-in.`} error={errors.password} required autocomplete="new-password" />
              <Select
                name="kind"
                label="Kind"
                value={v.kind ?? "network"}
                options={[
                  { value: "network", label: "Network administrator" },
                  { value: "super", label: "Super administrator" },
                ]}
                error={errors.kind}
              />
              <Select
                name="networkId"
                label="Network (network administrators)"
                hint="An existing network, or leave at “New network” and name it below."
                value={v.networkId ?? ""}
                options={[{ value: "", label: "New network" }, ...listNetworks(ctx).map((n) => ({ value: n.id, label: n.name }))]}
                error={errors.networkId}
              />
              <Field name="newNetworkName" label="New network name" value={v.newNetworkName} error={errors.newNetworkName} maxlength={100} />
              <Select name="roleId" label="Role (super administrators)" value={v.roleId ?? "super-administrator"} options={roleOptions()} error={errors.roleId} />
              <button type="submit">Create administrator</button>
            </form>
          </section>
        ) : null}
      </>,
    );
  };

  const detail = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const a = getAdmin(ctx, c.req.param("id")!);
    const writable = can(c, "admins.write");
    return adminPage(
      c,
      { title: `Administrator ${a.username}`, current: "/admin/administrators", status },
      <>
        <p>
          <a href="/admin/administrators">All administrators</a>
        </p>
        <dl>
          <dt>Name</dt>
          <dd>{a.name}</dd>
          <dt>Kind</dt>
          <dd>{a.kind === "super" ? `Super administrator, role ${a.roleName ?? "none"}` : "Network administrator"}</dd>
          {a.kind === "network" ? (
            <>
              <dt>Networks</dt>
              <dd>{a.networks.map((n) => n.name).join(", ") || "none"}</dd>
            </>
          ) : null}
          <dt>Two-factor sign-in</dt>
          <dd>{a.totpEnabled ? "on" : "off"}</dd>
          <dt>Locked</dt>
          <dd>{a.lockedAt ? `since ${when(a.lockedAt)}` : "no"}</dd>
        </dl>
        <ErrorSummary errors={errors} labels={adminLabels} />
        {writable ? (
          <>
            <h2>Set a new password</h2>
            <form method="post" action={`/admin/administrators/${a.id}/password`} novalidate>
              <Csrf token={csrf(c)} />
              <Field name="password" label="New password" type="password" hint={`${adminPasswordRuleText(getDeploymentSettings(ctx))} Ends their session; they must change it at next sign-in.`} error={errors.password} required autocomplete="new-password" />
              <button type="submit">Set password</button>
            </form>
            {a.kind === "super" ? (
              <>
                <h2>Role</h2>
                <form method="post" action={`/admin/administrators/${a.id}/role`}>
                  <Csrf token={csrf(c)} />
                  <Select name="roleId" label="Role" value={a.roleId} options={roleOptions()} error={errors.roleId} />
                  <button type="submit">Change role</button>
                </form>
              </>
            ) : null}
            <h2>Delete</h2>
            <form method="post" action={`/admin/administrators/${a.id}/delete`}>
              <Csrf token={csrf(c)} />
              <p id="delete-admin-help">Deleting ends their session and removes their network assignments. It cannot be undone.</p>
              <button type="submit" class="danger" aria-describedby="delete-admin-help">
                Delete administrator {a.username}
              </button>
            </form>
          </>
        ) : null}
      </>,
    );
  };

  const roleLabels = { name: "Name", permissions: "Permissions" };
  const permissionOptions = Object.entries(permissions).map(([value, hint]) => ({ value, label: value, hint }));

  const roles = (c: Context<AppEnv>, errors: FieldErrors = {}, v: { name?: string; permissions?: string[] } = {}, status = 200) =>
    adminPage(
      c,
      { title: "Roles", current: "/admin/roles", status },
      <>
        <table>
          <caption class="visually-hidden">Roles</caption>
          <thead>
            <tr>
              <th scope="col">Role</th>
              <th scope="col">Permissions</th>
            </tr>
          </thead>
          <tbody>
            {listRoles(ctx).map((r) => (
              <tr>
                <td>{r.builtIn ? r.name : <a href={`/admin/roles/${r.id}`}>{r.name}</a>}</td>
                <td>{r.builtIn ? "all (built-in, cannot be changed)" : r.permissions.join(", ") || "none"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {can(c, "roles.write") ? (
          <section aria-labelledby="create-role">
            <h2 id="create-role">Create a role</h2>
            <ErrorSummary errors={errors} labels={roleLabels} />
            <form method="post" action="/admin/roles" novalidate>
              <Csrf token={csrf(c)} />
              <Field name="name" label="Name" value={v.name} error={errors.name} required maxlength={80} />
              <Checkboxes name="permissions" legend="Permissions" options={permissionOptions} checked={v.permissions ?? []} error={errors.permissions} />
              <button type="submit">Create role</button>
            </form>
          </section>
        ) : null}
      </>,
    );

  const role = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const r = getRole(ctx, c.req.param("id")!);
    return adminPage(
      c,
      { title: `Role ${r.name}`, current: "/admin/roles", status },
      <>
        <p>
          <a href="/admin/roles">All roles</a>
        </p>
        <ErrorSummary errors={errors} labels={roleLabels} />
        {can(c, "roles.write") && !r.builtIn ? (
          <>
            <form method="post" action={`/admin/roles/${r.id}`} novalidate>
              <Csrf token={csrf(c)} />
              <Field name="name" label="Name" value={r.name} error={errors.name} required maxlength={80} />
              <Checkboxes name="permissions" legend="Permissions" options={permissionOptions} checked={r.permissions} error={errors.permissions} />
              <button type="submit">Save role</button>
            </form>
            <h2>Delete</h2>
            <ActionButton action={`/admin/roles/${r.id}/delete`} csrf={csrf(c)} label={`Delete role ${r.name}`} danger />
          </>
        ) : (
          <p>Permissions: {r.permissions.join(", ") || "none"}</p>
        )}
      </>,
    );
  };

  const lockout = (c: Context<AppEnv>) => {
    const offset = Math.max(0, Number(c.req.query("offset")) || 0);
    const { items: rows, total } = listLockouts(ctx, { limit: PAGE, offset });
    return adminPage(
      c,
      { title: "Lockout", current: "/admin/lockout" },
      <>
        <p>Administrators are locked after too many failed sign-ins in a row (the threshold is in Settings). Unlocking resets the count.</p>
        {rows.length === 0 ? (
          <p>No administrator has failed sign-ins.</p>
        ) : (
          <table>
            <caption class="visually-hidden">Administrators with failed sign-ins</caption>
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Failed sign-ins</th>
                <th scope="col">Locked</th>
                <th scope="col">
                  <span class="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr>
                  <td>{a.username}</td>
                  <td>{a.failedSignIns}</td>
                  <td>{a.lockedAt ? `since ${when(a.lockedAt)}` : "no"}</td>
                  <td>{can(c, "lockout.write") ? <ActionButton action={`/admin/lockout/${a.id}/unlock`} csrf={csrf(c)} label={`Unlock ${a.username}`} /> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager base="/admin/lockout" query={{}} offset={offset} limit={PAGE} total={total} />
      </>,
    );
  };

  const back = (c: Context<AppEnv>, notice: string) => c.redirect(`/admin/administrators/${c.req.param("id")}?notice=${notice}`, 303);
  const failOr = (c: Context<AppEnv>, e: unknown) => {
    if ((e as AppError).code === "not_found") throw e;
    return detail(c, errorsOf(e), (e as AppError).status);
  };

  return [
    { method: "GET", path: "/admin/administrators", permission: "admins.read", handler: (c) => list(c) },
    {
      method: "POST",
      path: "/admin/administrators",
      permission: "admins.write",
      handler: async (c) => {
        const f = await readForm(c);
        const v: Values = { name: f.get("name"), username: f.get("username"), kind: f.get("kind") === "super" ? "super" : "network", networkId: f.get("networkId"), newNetworkName: f.get("newNetworkName"), roleId: f.get("roleId") };
        try {
          const a = await createAdmin(ctx, actorOf(c), {
            name: v.name!,
            username: v.username!,
            password: f.get("password"),
            kind: v.kind as "super" | "network",
            ...(v.kind === "super" ? { roleId: v.roleId || undefined } : v.networkId ? { networkId: v.networkId } : { newNetworkName: v.newNetworkName }),
          });
          return c.redirect(`/admin/administrators/${a.id}?notice=admin-created`, 303);
        } catch (e) {
          const errs = errorsOf(e);
          // A missing network is best fixed in the "new network name" field.
          if (errs.networkId && !v.networkId) errs.newNetworkName = errs.networkId;
          if (errs.newNetworkName) delete errs.networkId;
          return list(c, errs, v, (e as AppError).status);
        }
      },
    },
    { method: "GET", path: "/admin/administrators/:id", permission: "admins.read", handler: (c) => detail(c) },
    {
      method: "POST",
      path: "/admin/administrators/:id/password",
      permission: "admins.write",
      handler: async (c) => {
        const f = await readForm(c);
        try {
          await setAdminPassword(ctx, actorOf(c), c.req.param("id")!, f.get("password"));
        } catch (e) {
          return failOr(c, e);
        }
        return back(c, "admin-password");
      },
    },
    {
      method: "POST",
      path: "/admin/administrators/:id/role",
      permission: "admins.write",
      handler: async (c) => {
        const f = await readForm(c);
        try {
          await setAdminRole(ctx, actorOf(c), c.req.param("id")!, f.get("roleId"));
        } catch (e) {
          return failOr(c, e);
        }
        return back(c, "admin-role");
      },
    },
    {
      method: "POST",
      path: "/admin/administrators/:id/delete",
      permission: "admins.write",
      handler: async (c) => {
        try {
          await deleteAdmin(ctx, actorOf(c), c.req.param("id")!);
        } catch (e) {
          return failOr(c, e);
        }
        return c.redirect("/admin/administrators?notice=admin-deleted", 303);
      },
    },
    { method: "GET", path: "/admin/roles", permission: "roles.read", handler: (c) => roles(c) },
    {
      method: "POST",
      path: "/admin/roles",
      permission: "roles.write",
      handler: async (c) => {
        const f = await readForm(c);
        const v = { name: f.get("name"), permissions: f.all("permissions") };
        try {
          await createRole(ctx, actorOf(c), v);
        } catch (e) {
          return roles(c, errorsOf(e), v, (e as AppError).status);
        }
        return c.redirect("/admin/roles?notice=role-created", 303);
      },
    },
    { method: "GET", path: "/admin/roles/:id", permission: "roles.read", handler: (c) => role(c) },
    {
      method: "POST",
      path: "/admin/roles/:id",
      permission: "roles.write",
      handler: async (c) => {
        const f = await readForm(c);
        try {
          await updateRole(ctx, actorOf(c), c.req.param("id")!, { name: f.get("name"), permissions: f.all("permissions") });
        } catch (e) {
          if ((e as AppError).code === "not_found") throw e;
          return role(c, errorsOf(e), (e as AppError).status);
        }
        return c.redirect(`/admin/roles/${c.req.param("id")}?notice=role-saved`, 303);
      },
    },
    {
      method: "POST",
      path: "/admin/roles/:id/delete",
      permission: "roles.write",
      handler: async (c) => {
        try {
          await deleteRole(ctx, actorOf(c), c.req.param("id")!);
        } catch (e) {
          if ((e as AppError).code === "not_found") throw e;
          return role(c, errorsOf(e), (e as AppError).status);
        }
        return c.redirect("/admin/roles?notice=role-deleted", 303);
      },
    },
    { method: "GET", path: "/admin/lockout", permission: "lockout.read", handler: (c) => lockout(c) },
    {
      method: "POST",
      path: "/admin/lockout/:id/unlock",
      permission: "lockout.write",
      handler: async (c) => {
        await unlockAdmin(ctx, actorOf(c), c.req.param("id")!);
        return c.redirect("/admin/lockout?notice=unlocked", 303);
      },
    },
  ];
}

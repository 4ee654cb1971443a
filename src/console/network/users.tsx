// Team directory pages: search, sort and page through users, create, edit,
// suspend, unsuspend, reset devices, delete; CSV download; bulk suspend or
// delete by CSV upload with a preview, an acknowledgement and a result report.
import type { Context } from "hono";
import type { AppContext } from "../../app/context.ts";
import { actorOf } from "../../http/auth.ts";
import type { AppError } from "../../http/errors.ts";
import type { AppEnv } from "../../http/types.ts";
import { userStatuses } from "../../db/schema/directory.ts";
import {
  changeUserStatus, createUser, deleteUsers, directoryCsv, directorySorts, getUser, listDirectory, resetUserDevices, updateUser, type DirectorySort, type User,
} from "../../modules/users/users.service.ts";
import { BULK_TEMPLATE, previewBulk, type BulkAction } from "../../modules/users/bulk.service.ts";
import { MAX_JOB_ROWS, bulkJobReportCsv, bulkJobView, getBulkJob, readUsernames, startBulkJob } from "../../modules/users/bulk-jobs.service.ts";
import { listSecurityGroups } from "../../modules/security-groups/security-groups.service.ts";
import { listTags, tagsOfGroup } from "../../modules/network-admin/network-admin.service.ts";
import { ActionButton, Checkbox, Csrf, ErrorSummary, Field, Pager, Select, errorsOf, when, type FieldErrors } from "../components.tsx";
import { readForm, type ConsoleRoute } from "../console-auth.tsx";
import { csrf, netPage, nidOf } from "./frame.tsx";

const PAGE = 50;
const labels = { username: "Username", password: "Password", firstName: "First name", lastName: "Last name", securityGroupId: "Security group", type: "User type", status: "Status", file: "CSV file", acknowledge: "Acknowledgement" };
const statusLabel: Record<User["status"], string> = { pending: "Pending", active: "Active", suspended: "Suspended", restricted: "Restricted" };
const typeLabel = { user: "User", webadmin: "Web admin", bot: "Bot" };

export function TagList(p: { tags: { name: string; colour: string }[] }) {
  if (!p.tags.length) return null;
  return (
    <span class="tags">
      {p.tags.map((t) => (
        <span class="tag" style={`border-color:${t.colour}`}>
          <span class="swatch" style={`background:${t.colour}`} aria-hidden="true"></span>
          {t.name}
        </span>
      ))}
    </span>
  );
}

export function userPages(ctx: AppContext): ConsoleRoute[] {
  const groupOptions = (nid: string) => listSecurityGroups(ctx, nid).map((g) => ({ value: g.id, label: g.name }));

  const list = (c: Context<AppEnv>, errors: FieldErrors = {}, values: Record<string, string> = {}, status = 200) => {
    const nid = nidOf(c);
    const q = {
      search: c.req.query("search") ?? "",
      status: (userStatuses as readonly string[]).includes(c.req.query("status") ?? "") ? (c.req.query("status") as User["status"]) : undefined,
      sort: (directorySorts as readonly string[]).includes(c.req.query("sort") ?? "") ? (c.req.query("sort") as DirectorySort) : "username",
      order: c.req.query("order") === "desc" ? ("desc" as const) : ("asc" as const),
    };
    const offset = Math.max(0, Number(c.req.query("offset")) || 0);
    const r = listDirectory(ctx, nid, { ...q, limit: PAGE, offset });
    const tags = listTags(ctx, nid);
    const base = `/network/${nid}/users`;
    const sortLink = (col: DirectorySort) => `${base}?${new URLSearchParams({ ...(q.search ? { search: q.search } : {}), ...(q.status ? { status: q.status } : {}), sort: col, order: q.sort === col && q.order === "asc" ? "desc" : "asc" })}`;
    const sortMark = (col: DirectorySort) => (q.sort === col ? (q.order === "asc" ? "ascending" : "descending") : undefined);
    return netPage(
      ctx,
      c,
      { title: "Team directory", current: base, status },
      <>
        <form method="get" action={base} class="filters" role="search">
          <Field name="search" label="Search by username or name" value={q.search} type="search" />
          <Select name="status" label="Status" value={q.status ?? ""} options={[{ value: "", label: "Any status" }, ...userStatuses.map((s) => ({ value: s, label: statusLabel[s] }))]} />
          <button type="submit" class="secondary">Search</button>
        </form>
        <p>
          {r.total} user(s). <a href={`/network/${nid}/users.csv`}>Download the directory as CSV</a> · <a href={`/network/${nid}/bulk`}>Bulk suspend or delete by CSV</a>
        </p>
        {r.items.length ? (
          <table>
            <caption class="visually-hidden">Users</caption>
            <thead>
              <tr>
                <th scope="col" aria-sort={sortMark("username")}><a href={sortLink("username")}>Username</a></th>
                <th scope="col" aria-sort={sortMark("name")}><a href={sortLink("name")}>Name</a></th>
                <th scope="col" aria-sort={sortMark("status")}><a href={sortLink("status")}>Status</a></th>
                <th scope="col">Type</th>
                <th scope="col">Security group</th>
                <th scope="col">Devices</th>
                <th scope="col" aria-sort={sortMark("created")}><a href={sortLink("created")}>Created</a></th>
              </tr>
            </thead>
            <tbody>
              {r.items.map((u) => (
                <tr>
                  <td><a href={`${base}/${u.id}`}>{u.username}</a></td>
                  <td>{`${u.firstName} ${u.lastName}`.trim() || "—"}</td>
                  <td>{statusLabel[u.status]}</td>
                  <td>{typeLabel[u.type]}</td>
                  <td>{u.securityGroupName} <TagList tags={tagsOfGroup(tags, u.securityGroupId)} /></td>
                  <td>{u.deviceCount}</td>
                  <td>{u.createdAt.toISOString().slice(0, 10)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>No users match.</p>
        )}
        <Pager base={base} query={{ search: q.search, status: q.status, sort: q.sort, order: q.order }} offset={offset} limit={PAGE} total={r.total} />
        <section aria-labelledby="create-user">
          <h2 id="create-user">Create a user</h2>
          <ErrorSummary errors={errors} labels={labels} />
          <form method="post" action={base} novalidate>
            <Csrf token={csrf(c)} />
            <Field name="firstName" label="First name" value={values.firstName} error={errors.firstName} maxlength={100} />
            <Field name="lastName" label="Last name" value={values.lastName} error={errors.lastName} maxlength={100} />
            <Field name="username" label="Username" value={values.username} error={errors.username} required autocomplete="off" hint="Letters, digits and . _ @ + -; unique in this network." />
            <Field name="password" label="Initial password" type="password" error={errors.password} required autocomplete="new-password" hint="Must follow the security group's password rule." />
            <Select name="securityGroupId" label="Security group" options={groupOptions(nid)} value={values.securityGroupId} error={errors.securityGroupId} />
            <Select name="type" label="User type" options={[{ value: "user", label: "User" }, { value: "webadmin", label: "Web admin" }]} value={values.type} error={errors.type} />
            <button type="submit">Create user</button>
          </form>
        </section>
      </>,
    );
  };

  const detail = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const nid = nidOf(c);
    const u = getUser(ctx, nid, c.req.param("id")!);
    const base = `/network/${nid}/users/${u.id}`;
    return netPage(
      ctx,
      c,
      { title: `User ${u.username}`, current: `/network/${nid}/users`, status },
      <>
        <p><a href={`/network/${nid}/users`}>All users</a></p>
        <dl>
          <dt>Status</dt><dd>{statusLabel[u.status]}</dd>
          <dt>Type</dt><dd>{typeLabel[u.type]}</dd>
          <dt>Created</dt><dd>{when(u.createdAt)}</dd>
        </dl>
        <h2>Edit</h2>
        <ErrorSummary errors={errors} labels={labels} />
        <form method="post" action={base} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="firstName" label="First name" value={u.firstName} error={errors.firstName} maxlength={100} />
          <Field name="lastName" label="Last name" value={u.lastName} error={errors.lastName} maxlength={100} />
          <Select name="securityGroupId" label="Security group" options={groupOptions(nid)} value={u.securityGroupId} error={errors.securityGroupId} />
          {u.type !== "bot" ? <Select name="type" label="User type" options={[{ value: "user", label: "User" }, { value: "webadmin", label: "Web admin" }]} value={u.type} /> : null}
          {u.status !== "suspended" ? (
            <Select name="status" label="Status" options={[{ value: "pending", label: "Pending" }, { value: "active", label: "Active" }, { value: "restricted", label: "Restricted" }]} value={u.status} error={errors.status} />
          ) : null}
          <Field name="password" label="New password (optional)" type="password" error={errors.password} autocomplete="new-password" />
          <button type="submit">Save</button>
        </form>
        <h2>Actions</h2>
        <p>
          {u.status === "suspended" ? (
            <ActionButton action={`${base}/unsuspend`} csrf={csrf(c)} label="Unsuspend" />
          ) : (
            <ActionButton action={`${base}/suspend`} csrf={csrf(c)} label="Suspend (signs their devices out now)" />
          )}{" "}
          <ActionButton action={`${base}/reset-devices`} csrf={csrf(c)} label="Reset devices" />{" "}
          <ActionButton action={`${base}/delete`} csrf={csrf(c)} label="Delete user" danger />
        </p>
      </>,
    );
  };

  const act = (path: string, run: (c: Context<AppEnv>, nid: string, id: string) => Promise<unknown>, notice: string, to: "user" | "list" = "user"): ConsoleRoute => ({
    method: "POST",
    path,
    permission: null,
    handler: async (c) => {
      const nid = nidOf(c);
      const id = c.req.param("id")!;
      getUser(ctx, nid, id);
      await run(c, nid, id);
      return c.redirect(to === "list" ? `/network/${nid}/users?notice=${notice}` : `/network/${nid}/users/${id}?notice=${notice}`, 303);
    },
  });

  const bulkPage = (c: Context<AppEnv>, body: { errors?: FieldErrors; preview?: ReturnType<typeof previewBulk>; csv?: string; action?: BulkAction}, status = 200) => {
    const nid = nidOf(c);
    const base = `/network/${nid}/bulk`;
    const p = body.preview;
    return netPage(
      ctx,
      c,
      { title: "Bulk changes by CSV", current: base, status },
      <>
        {p && body.csv ? (
          <section aria-labelledby="preview">
            <h2 id="preview">Preview</h2>
            <p>
              {p.rows} row(s) read: <strong>{p.matched.length} match</strong> users of this network, <strong>{p.unmatched.length} match nobody</strong> and will be skipped.
            </p>
            {p.unmatched.length ? <ul class="unmatched">{p.unmatched.slice(0, 200).map((u) => <li>Row {u.row}: {u.username} — not found</li>)}</ul> : null}
            {p.matched.length ? (
              <details>
                <summary>Matched users ({p.matched.length})</summary>
                <ul>{p.matched.slice(0, 200).map((m) => <li>Row {m.row}: {m.username} ({statusLabel[m.status as User["status"]]})</li>)}</ul>
              </details>
            ) : null}
            <ErrorSummary errors={body.errors ?? {}} labels={labels} />
            <form method="post" action={`${base}/run`}>
              <Csrf token={csrf(c)} />
              <input type="hidden" name="csv" value={body.csv} />
              <input type="hidden" name="action" value={body.action} />
              {body.action === "delete" ? <Checkbox name="acknowledge" label={`I understand that deleting ${p.matched.length} user(s) cannot be undone`} checked={false} /> : null}
              <button type="submit" class={body.action === "delete" ? "danger" : ""} disabled={!p.matched.length}>
                {body.action === "delete" ? `Delete ${p.matched.length} user(s)` : body.action === "suspend" ? `Suspend ${p.matched.length} user(s)` : `Reactivate ${p.matched.length} user(s)`}
              </button>{" "}
              <a href={base}>Cancel</a>
            </form>
          </section>
        ) : (
          <section aria-labelledby="upload">
            <h2 id="upload">Upload a CSV file</h2>
            <p>
              One username per row under the header <code>username</code>; up to {MAX_JOB_ROWS.toLocaleString("en")} rows. <a href={`${base}/template.csv`}>Download the template</a>.
            </p>
            <ErrorSummary errors={body.errors ?? {}} labels={labels} />
            <form method="post" action={`${base}/preview`} enctype="multipart/form-data">
              <Csrf token={csrf(c)} />
              <div class="field">
                <label for="f-file">CSV file</label>
                <input id="f-file" name="file" type="file" accept=".csv,text/csv" aria-invalid={body.errors?.file ? "true" : undefined} />
              </div>
              <Select name="action" label="Action" options={[{ value: "suspend", label: "Suspend" }, { value: "unsuspend", label: "Reactivate (unsuspend)" }, { value: "delete", label: "Delete" }]} value={body.action ?? "suspend"} />
              <button type="submit">Preview</button>
            </form>
          </section>
        )}
      </>,
    );
  };
  // While the job runs the page reloads itself every 2 s (a meta refresh: CSP allows no scripts).
  const jobPage = (c: Context<AppEnv>) => {
    const nid = nidOf(c);
    const raw = getBulkJob(ctx, nid, c.req.param("jobId")!);
    const j = bulkJobView(raw);
    const running = j.state === "queued" || j.state === "running";
    const verb = j.kind === "delete" ? "Deleted" : j.kind === "suspend" ? "Suspended" : "Reactivated";
    const unmatched = JSON.parse(raw.report ?? "[]") as { row: number; username: string }[];
    return netPage(
      ctx,
      c,
      { title: "Bulk job", current: `/network/${nid}/bulk`, ...(running ? { refreshSeconds: 2 } : {}) },
      <section aria-labelledby="job" role="status">
        <h2 id="job">{running ? "Working…" : j.state === "done" ? "Result" : "The job failed"}</h2>
        <p>
          <label for="job-progress">Rows processed</label>{" "}
          <progress id="job-progress" max={j.total} value={j.processed}>{j.processed} of {j.total}</progress> {j.processed.toLocaleString("en")} of {j.total.toLocaleString("en")}
        </p>
        {j.error ? <p class="error">{j.error}</p> : null}
        <p>
          {verb} {j.changed} user(s) of {j.matched} matched row(s); {j.unmatched} row(s) matched nobody.
        </p>
        {!running ? (
          <>
            {unmatched.length ? <ul class="unmatched">{unmatched.slice(0, 200).map((u) => <li>Row {u.row}: {u.username} — not found</li>)}</ul> : null}
            <p>
              <a href={`/network/${nid}/bulk/jobs/${j.id}/report.csv`}>Download the result report (CSV)</a> · <a href={`/network/${nid}/bulk`}>Another bulk change</a>
            </p>
          </>
        ) : null}
      </section>,
    );
  };
  const bulkAction = (v: string): BulkAction => (v === "delete" || v === "unsuspend" ? v : "suspend");

  return [
    { method: "GET", path: "/network/:nid/users", permission: null, handler: (c) => list(c) },
    {
      method: "POST",
      path: "/network/:nid/users",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const values = { firstName: f.get("firstName"), lastName: f.get("lastName"), username: f.get("username"), securityGroupId: f.get("securityGroupId"), type: f.get("type") };
        try {
          const u = await createUser(
            ctx,
            { networkId: nidOf(c), username: values.username, password: f.get("password"), firstName: values.firstName, lastName: values.lastName, type: values.type === "webadmin" ? "webadmin" : "user", ...(values.securityGroupId ? { securityGroupId: values.securityGroupId } : {}) },
            actorOf(c),
          );
          return c.redirect(`/network/${nidOf(c)}/users/${u.id}?notice=user-created`, 303);
        } catch (e) {
          return list(c, errorsOf(e), values, (e as AppError).status);
        }
      },
    },
    {
      method: "GET",
      path: "/network/:nid/users.csv",
      permission: null,
      handler: (c) => {
        return c.body(directoryCsv(ctx, nidOf(c)), 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="directory.csv"' });
      },
    },
    { method: "GET", path: "/network/:nid/users/:id", permission: null, handler: (c) => detail(c) },
    {
      method: "POST",
      path: "/network/:nid/users/:id",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const nid = nidOf(c);
        const id = c.req.param("id")!;
        getUser(ctx, nid, id);
        const status = f.get("status");
        const type = f.get("type");
        try {
          await updateUser(ctx, actorOf(c), nid, id, {
            firstName: f.get("firstName"), lastName: f.get("lastName"), securityGroupId: f.get("securityGroupId") || undefined,
            type: type === "user" || type === "webadmin" ? type : undefined,
            status: status === "pending" || status === "active" || status === "restricted" ? status : undefined,
            password: f.get("password") || undefined,
          });
        } catch (e) {
          if ((e as AppError).code === "not_found") throw e;
          return detail(c, errorsOf(e), (e as AppError).status);
        }
        return c.redirect(`/network/${nid}/users/${id}?notice=user-saved`, 303);
      },
    },
    act("/network/:nid/users/:id/suspend", (c, nid, id) => changeUserStatus(ctx, actorOf(c), nid, [id], true), "user-suspended"),
    act("/network/:nid/users/:id/unsuspend", (c, nid, id) => changeUserStatus(ctx, actorOf(c), nid, [id], false), "user-unsuspended"),
    act("/network/:nid/users/:id/reset-devices", (c, nid, id) => resetUserDevices(ctx, actorOf(c), nid, id), "devices-reset"),
    act("/network/:nid/users/:id/delete", (c, nid, id) => deleteUsers(ctx, actorOf(c), nid, [id]), "user-deleted", "list"),
    { method: "GET", path: "/network/:nid/bulk", permission: null, handler: (c) => bulkPage(c, {}) },
    { method: "GET", path: "/network/:nid/bulk/jobs/:jobId", permission: null, handler: (c) => jobPage(c) },
    {
      method: "GET",
      path: "/network/:nid/bulk/jobs/:jobId/report.csv",
      permission: null,
      handler: (c) => c.body(bulkJobReportCsv(getBulkJob(ctx, nidOf(c), c.req.param("jobId")!)), 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="bulk-report.csv"' }),
    },
    { method: "GET", path: "/network/:nid/bulk/template.csv", permission: null, handler: (c) => c.body(BULK_TEMPLATE, 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="bulk-template.csv"' }) },
    {
      method: "POST",
      path: "/network/:nid/bulk/preview",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const action = bulkAction(f.get("action"));
        const file = f.file("file");
        if (!file) return bulkPage(c, { errors: { file: "choose a CSV file" }, action }, 400);
        const csv = await file.text();
        try {
          return bulkPage(c, { preview: previewBulk(ctx, nidOf(c), csv), csv, action });
        } catch (e) {
          return bulkPage(c, { errors: errorsOf(e), action }, (e as AppError).status);
        }
      },
    },
    {
      method: "POST",
      path: "/network/:nid/bulk/run",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const action = bulkAction(f.get("action"));
        const csv = f.get("csv");
        try {
          if (action === "delete" && f.get("acknowledge") !== "on") await startBulkJob(ctx, actorOf(c), nidOf(c), "delete", [], false);
          const job = await startBulkJob(ctx, actorOf(c), nidOf(c), action, await readUsernames(csv), f.get("acknowledge") === "on");
          return c.redirect(`/network/${nidOf(c)}/bulk/jobs/${job.id}`, 303);
        } catch (e) {
          const preview = (() => {
            try {
              return previewBulk(ctx, nidOf(c), csv);
            } catch {
              return undefined;
            }
          })();
          return bulkPage(c, { errors: errorsOf(e), ...(preview ? { preview, csv } : {}), action }, (e as AppError).status);
        }
      },
    },
  ];
}

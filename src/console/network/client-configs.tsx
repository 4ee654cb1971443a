// Client configuration pages: create one for a security group (name, expiry,
// password, optional certificate pinning), list active ones with their landing
// page and deeplink, download again, expire. Also the public landing page that
// offers the file to people without a console account.
import type { Context } from "hono";
import type { AppContext } from "../../app/context.ts";
import type { App } from "../../http/types.ts";
import { actorOf } from "../../http/auth.ts";
import type { AppError } from "../../http/errors.ts";
import type { AppEnv } from "../../http/types.ts";
import { listSecurityGroups } from "../../modules/security-groups/security-groups.service.ts";
import {
  MAX_EXPIRY_DAYS, clientConfigDeeplink, configFileName, createClientConfig, downloadClientConfig, expireClientConfig, listClientConfigs, publicClientConfig,
} from "../../modules/client-config/client-config.service.ts";
import { ActionButton, Checkbox, Csrf, ErrorSummary, Field, Select, errorsOf, when, type FieldErrors } from "../components.tsx";
import { readForm, type ConsoleRoute } from "../console-auth.tsx";
import { Layout, page } from "../layout.tsx";
import { csrf, netPage, nidOf } from "./frame.tsx";

const labels = { name: "Name", securityGroupId: "Security group", expiresInDays: "Expires after (days)", password: "Password", pinCertificates: "Pin certificates" };

export function clientConfigPages(ctx: AppContext): ConsoleRoute[] {
  const list = (c: Context<AppEnv>, errors: FieldErrors = {}, values: Record<string, string> = {}, status = 200) => {
    const nid = nidOf(c);
    const base = `/network/${nid}/client-configs`;
    const groups = listSecurityGroups(ctx, nid);
    const items = listClientConfigs(ctx, nid);
    const origin = new URL(c.req.url).origin;
    return netPage(
      ctx,
      c,
      { title: "Client configuration", current: base, status },
      <>
        <p>A configuration file tells the apps which server to use (and, if chosen, which certificate to trust). It is encrypted with the password you choose; give the password to users separately.</p>
        {items.length ? (
          <table>
            <caption class="visually-hidden">Active client configurations</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Security group</th><th scope="col">Expires</th><th scope="col">Share</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {items.map((i) => (
                <tr>
                  <td>{i.name}{i.pinCertificates ? " (pinned)" : ""}</td>
                  <td>{groups.find((g) => g.id === i.securityGroupId)?.name ?? "—"}</td>
                  <td>{when(i.expiresAt)}</td>
                  <td><a href={`${origin}/config/${i.publicId}`}>Landing page</a> · <a href={clientConfigDeeplink(ctx, i.publicId, origin)}>Deeplink</a></td>
                  <td><a href={`${base}/${i.id}/file`} download={configFileName(i.name)}>Download {i.name}</a>{" "}<ActionButton action={`${base}/${i.id}/expire`} csrf={csrf(c)} label={`Expire ${i.name}`} danger /></td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : <p>No active configurations.</p>}
        <h2>Create a configuration</h2>
        <ErrorSummary errors={errors} labels={labels} />
        <form method="post" action={base} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="name" label="Name" value={values.name} error={errors.name} required maxlength={100} />
          <Select name="securityGroupId" label="Security group" options={groups.map((g) => ({ value: g.id, label: g.name }))} value={values.securityGroupId} error={errors.securityGroupId} />
          <Field name="expiresInDays" label="Expires after (days)" inputmode="numeric" value={values.expiresInDays ?? "30"} error={errors.expiresInDays} hint={`1 to ${MAX_EXPIRY_DAYS}.`} />
          <Field name="password" label="Password for the file" type="password" error={errors.password} autocomplete="new-password" hint="8 to 256 characters. It is not stored: a lost password means a new configuration." />
          {ctx.config.tls !== "off" ? <Checkbox name="pinCertificates" label="Pin this server's certificate" checked={values.pinCertificates === "on"} /> : null}
          <button type="submit">Create and download</button>
        </form>
      </>,
    );
  };

  return [
    { method: "GET", path: "/network/:nid/client-configs", permission: null, handler: (c) => list(c) },
    {
      method: "POST",
      path: "/network/:nid/client-configs",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const values = { name: f.get("name"), securityGroupId: f.get("securityGroupId"), expiresInDays: f.get("expiresInDays"), pinCertificates: f.get("pinCertificates") };
        try {
          const days = /^\d{1,4}$/.test(values.expiresInDays.trim()) ? Number(values.expiresInDays) : NaN;
          const created = await createClientConfig(ctx, actorOf(c), nidOf(c), { name: values.name, securityGroupId: values.securityGroupId, expiresInDays: days, password: f.get("password"), pinCertificates: values.pinCertificates === "on" }, { origin: new URL(c.req.url).origin });
          return c.body(created.file, 201, { "content-type": "application/vnd.outpost.client-config+json", "content-disposition": `attachment; filename="${configFileName(created.info.name)}"` });
        } catch (e) {
          return list(c, errorsOf(e), values, (e as AppError).status);
        }
      },
    },
    {
      method: "GET",
      path: "/network/:nid/client-configs/:id/file",
      permission: null,
      handler: (c) => {
        const f = downloadClientConfig(ctx, nidOf(c), c.req.param("id")!);
        return c.body(f.file, 200, { "content-type": "application/vnd.outpost.client-config+json", "content-disposition": `attachment; filename="${configFileName(f.name)}"` });
      },
    },
    {
      method: "POST",
      path: "/network/:nid/client-configs/:id/expire",
      permission: null,
      handler: async (c) => {
        await expireClientConfig(ctx, actorOf(c), nidOf(c), c.req.param("id")!);
        return c.redirect(`/network/${nidOf(c)}/client-configs?notice=config-expired`, 303);
      },
    },
  ];
}

/** The public landing page (/config/:publicId) and its file; the unguessable id is the only key. */
export function registerConfigLanding(app: App, ctx: AppContext) {
  app.get("/config/:publicId", (c) => {
    const cfg = publicClientConfig(ctx, c.req.param("publicId"));
    const id = c.req.param("publicId");
    return c.html(
      page(
        <Layout title={`Set up Outpost for ${cfg.networkName}`}>
          <p>Your administrator prepared a configuration file named <strong>{cfg.name}</strong>. It is valid until {when(cfg.expiresAt)}.</p>
          <ol>
            <li><a href={clientConfigDeeplink(ctx, id, new URL(c.req.url).origin)}>Open it in the Outpost app</a>, or <a href={`/config/${id}/file`} download={configFileName(cfg.name)}>download the file</a> and open it there.</li>
            <li>Enter the password your administrator gave you separately.</li>
          </ol>
        </Layout>,
      ),
    );
  });
  app.get("/config/:publicId/file", (c) => {
    const cfg = publicClientConfig(ctx, c.req.param("publicId"));
    return c.body(cfg.file, 200, { "content-type": "application/vnd.outpost.client-config+json", "content-disposition": `attachment; filename="${configFileName(cfg.name)}"` });
  });
}

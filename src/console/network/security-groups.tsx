// Security group pages: list with member counts and tags, create, delete (not
// Default), and the settings form, where every setting carries a visible mark
// saying whether the server enforces it or clients honour it.
import type { Context } from "hono";
import type { AppContext } from "../../app/context.ts";
import { actorOf } from "../../http/auth.ts";
import { AppError } from "../../http/errors.ts";
import type { AppEnv } from "../../http/types.ts";
import {
  MAX_SECURITY_GROUPS, createSecurityGroup, deleteSecurityGroup, listSecurityGroupSummaries, securityGroupSummary, updateSecurityGroup,
} from "../../modules/security-groups/security-groups.service.ts";
import { defaultSecurityGroupSettings, settingEnforcement, type SecurityGroupSettings } from "../../modules/security-groups/settings.ts";
import { listTags } from "../../modules/network-admin/network-admin.service.ts";
import { ActionButton, Checkboxes, Csrf, ErrorSummary, Field, errorsOf, sentence, type FieldErrors } from "../components.tsx";
import { readForm, type ConsoleRoute } from "../console-auth.tsx";
import { csrf, netPage, nidOf } from "./frame.tsx";
import { TagList } from "./users.tsx";

type Kind = "bool" | "int" | "lines" | "enum" | "networks";
interface SettingField {
  path: string;
  label: string;
  kind: Kind;
  hint?: string;
  options?: string[];
}

/** Every setting, in the sections the guide uses; enforcement comes from settingEnforcement. */
export const settingSections: { title: string; fields: SettingField[] }[] = [
  {
    title: "General",
    fields: [
      { path: "general.previewNotifications", label: "Show message previews in notifications", kind: "bool" },
      { path: "general.userPresence", label: "Share presence (online status)", kind: "bool" },
      { path: "general.desktopUpdateBanner", label: "Show the update banner on desktop clients", kind: "bool" },
    ],
  },
  {
    title: "Messaging",
    fields: [
      { path: "messaging.linkPreviews", label: "Link previews", kind: "bool" },
      { path: "messaging.locationSharing", label: "Location sharing", kind: "bool" },
      { path: "messaging.mapSharing", label: "Map previews of shared locations", kind: "bool" },
      { path: "messaging.attachments", label: "File attachments", kind: "bool" },
      { path: "messaging.secureShredder", label: "Secure shredder", kind: "bool" },
      { path: "messaging.botReadReceipts", label: "Read receipts for messages to bots", kind: "bool" },
      { path: "messaging.compressUploads", label: "Compress uploads", kind: "bool" },
      { path: "messaging.maxExpirationSeconds", label: "Longest message expiration (seconds)", kind: "int", hint: "60 to 31,536,000 (365 days); longer expirations are shortened to this." },
      { path: "messaging.quickResponses", label: "Quick responses", kind: "lines", hint: "One per line; at most 10, each at most 8,000 characters." },
      { path: "messaging.maxUploadBytes", label: "Largest upload (bytes)", kind: "int", hint: "1 to 5,368,709,120 (5 GiB)." },
    ],
  },
  {
    title: "Calling",
    fields: [
      { path: "calling.audio", label: "Audio calls", kind: "bool" },
      { path: "calling.video", label: "Video calls", kind: "bool" },
      { path: "calling.forceTcp", label: "Force calls over TCP", kind: "bool" },
    ],
  },
  {
    title: "Security",
    fields: [
      { path: "security.alwaysReauthenticate", label: "Ask for the password every time the app opens", kind: "bool" },
      { path: "security.userCanChangePassword", label: "Users may change their password", kind: "bool" },
      { path: "security.password.minLength", label: "Password: minimum length", kind: "int", hint: "6 to 128." },
      { path: "security.password.requireLower", label: "Password: needs a lower-case letter", kind: "bool" },
      { path: "security.password.requireUpper", label: "Password: needs an upper-case letter", kind: "bool" },
      { path: "security.password.requireDigit", label: "Password: needs a digit", kind: "bool" },
      { path: "security.password.requireSymbol", label: "Password: needs a symbol", kind: "bool" },
      { path: "security.deviceResetAfter", label: "Reset devices after this many wrong passwords", kind: "int", hint: "0 (never) to 100." },
      { path: "security.suspendAfter", label: "Suspend the account after this many wrong passwords", kind: "int", hint: "0 (never) to 100." },
    ],
  },
  {
    title: "Federation",
    fields: [
      { path: "federation.local", label: "Federation with other networks on this server", kind: "enum", options: ["disabled", "enabled", "restricted"] },
      { path: "federation.permittedNetworks", label: "Permitted networks (when restricted)", kind: "networks", hint: "One per line: label, network id. At most 100." },
    ],
  },
];
// Push configuration has no settings of its own in Outpost: clients are told of new messages over
// the relay's WebSocket, so there is no push provider to configure (said on the page).

const enforcementOf = (path: string): "server" | "client" => settingEnforcement[path] ?? settingEnforcement[path.split(".").slice(0, 2).join(".")] ?? "client";

function getAt(o: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), o);
}
function setAt(o: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split(".");
  let cur = o;
  for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
  cur[keys.at(-1)!] = value;
}

/** Reads the settings form into the settings object the service validates (numbers stay strings when not numbers, so validation names them). */
function settingsFromForm(f: { get(n: string): string }): unknown {
  const out: Record<string, unknown> = {};
  for (const s of settingSections) {
    for (const field of s.fields) {
      const raw = f.get(field.path);
      let v: unknown;
      if (field.kind === "bool") v = raw === "on";
      else if (field.kind === "int") v = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
      else if (field.kind === "enum") v = raw;
      else if (field.kind === "lines") v = raw.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      else v = raw.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => { const i = l.indexOf(","); return i < 0 ? { label: l, networkId: "" } : { label: l.slice(0, i).trim(), networkId: l.slice(i + 1).trim() }; });
      setAt(out, field.path, v);
    }
  }
  return out;
}

/** Validation details (settings.messaging.quickResponses.3) → the form field they belong to. */
function settingErrors(e: unknown): FieldErrors {
  if (!(e instanceof AppError) || !Array.isArray(e.details)) return errorsOf(e);
  const out: FieldErrors = {};
  const fields = settingSections.flatMap((s) => s.fields.map((f) => f.path));
  for (const d of e.details) {
    const p = d.path.replace(/^settings\./, "");
    const field = fields.find((f) => p === f || p.startsWith(f + ".")) ?? (d.path.startsWith("settings") ? "_form" : d.path.split(".")[0]!);
    out[field] ??= d.message;
  }
  return out;
}

function SettingInput(p: { field: SettingField; value: unknown; error?: string | undefined }) {
  const { field } = p;
  const id = `f-${field.path}`;
  const enforced = enforcementOf(field.path);
  const mark = (
    <span class={`enforce enforce-${enforced}`} id={`${id}-mark`}>
      {enforced === "server" ? "Enforced by server" : "Honoured by clients"}
    </span>
  );
  const describedBy = [field.hint ? `${id}-hint` : "", `${id}-mark`, p.error ? `${id}-error` : ""].filter(Boolean).join(" ");
  const err = p.error ? <p class="error" id={`${id}-error`}><span class="visually-hidden">Error: </span>{p.error}</p> : null;
  const hint = field.hint ? <p class="hint" id={`${id}-hint`}>{field.hint}</p> : null;
  if (field.kind === "bool") {
    return (
      <div class={p.error ? "field check field-error" : "field check"}>
        <input type="checkbox" id={id} name={field.path} value="on" checked={p.value === true} aria-describedby={describedBy} />
        <label for={id}>{field.label}</label> {mark}
        {hint}
        {err}
      </div>
    );
  }
  const value =
    field.kind === "lines" ? ((p.value as string[] | undefined) ?? []).join("\n")
    : field.kind === "networks" ? ((p.value as { label: string; networkId: string }[] | undefined) ?? []).map((n) => `${n.label}, ${n.networkId}`).join("\n")
    : String(p.value ?? "");
  return (
    <div class={p.error ? "field field-error" : "field"}>
      <label for={id}>{field.label}</label> {mark}
      {hint}
      {err}
      {field.kind === "int" ? (
        <input id={id} name={field.path} type="text" inputmode="numeric" value={value} aria-invalid={p.error ? "true" : undefined} aria-describedby={describedBy} />
      ) : field.kind === "enum" ? (
        <select id={id} name={field.path} aria-describedby={describedBy}>
          {field.options!.map((o) => <option value={o} selected={o === value}>{o.charAt(0).toUpperCase() + o.slice(1)}</option>)}
        </select>
      ) : (
        <textarea id={id} name={field.path} rows={4} aria-invalid={p.error ? "true" : undefined} aria-describedby={describedBy}>{value}</textarea>
      )}
    </div>
  );
}

export function securityGroupPages(ctx: AppContext): ConsoleRoute[] {
  const list = (c: Context<AppEnv>, errors: FieldErrors = {}, status = 200) => {
    const nid = nidOf(c);
    const groups = listSecurityGroupSummaries(ctx, nid);
    const tags = listTags(ctx, nid);
    const base = `/network/${nid}/security-groups`;
    return netPage(
      ctx,
      c,
      { title: "Security groups", current: base, status },
      <>
        <p>{groups.length} of at most {MAX_SECURITY_GROUPS} groups. Each user belongs to one group, whose settings apply to them.</p>
        <table>
          <caption class="visually-hidden">Security groups</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Members</th><th scope="col">Tags</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {groups.map((g) => (
              <tr>
                <td><a href={`${base}/${g.id}`}>{g.name}</a>{g.isDefault ? " (default)" : ""}</td>
                <td>{g.memberCount}</td>
                <td><TagList tags={tags.filter((t) => g.tagIds.includes(t.id))} /></td>
                <td>{g.isDefault ? <span class="hint">The default group cannot be deleted</span> : <ActionButton action={`${base}/${g.id}/delete`} csrf={csrf(c)} label={`Delete ${g.name}`} danger />}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2 id="create-group">Create a security group</h2>
        <ErrorSummary errors={errors} labels={{ name: "Name" }} />
        <form method="post" action={base} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="name" label="Name" error={errors.name} required maxlength={100} hint="It starts with the default settings; change them on its page." />
          <button type="submit">Create group</button>
        </form>
      </>,
    );
  };

  const detail = (c: Context<AppEnv>, errors: FieldErrors = {}, submitted?: unknown, status = 200) => {
    const nid = nidOf(c);
    const g = securityGroupSummary(ctx, nid, c.req.param("id")!);
    const tags = listTags(ctx, nid);
    const values: SecurityGroupSettings | unknown = submitted ?? g.settings;
    const base = `/network/${nid}/security-groups/${g.id}`;
    const labels = Object.fromEntries(settingSections.flatMap((s) => s.fields.map((f) => [f.path, `${s.title}: ${f.label}`])));
    return netPage(
      ctx,
      c,
      { title: `Security group ${g.name}`, current: `/network/${nid}/security-groups`, status },
      <>
        <p><a href={`/network/${nid}/security-groups`}>All security groups</a> · {g.memberCount} member(s)</p>
        <p class="hint">
          <span class="enforce enforce-server">Enforced by server</span> settings are checked by Outpost itself. <span class="enforce enforce-client">Honoured by clients</span> settings are sent to the apps, which apply them.
        </p>
        <ErrorSummary errors={errors} labels={{ ...labels, name: "Name", tagIds: "Tags" }} />
        <form method="post" action={base} novalidate>
          <Csrf token={csrf(c)} />
          <Field name="name" label="Name" value={g.name} error={errors.name} required maxlength={100} />
          <Checkboxes name="tagIds" legend="Security tags" options={tags.map((t) => ({ value: t.id, label: `${t.name} (${t.kind === "override" ? "override" : "network"} tag)` }))} checked={g.tagIds} error={errors.tagIds} />
          {settingSections.map((s) => (
            <fieldset class="settings" id={`section-${s.title.toLowerCase()}`}>
              <legend>{s.title}</legend>
              {s.fields.map((field) => <SettingInput field={field} value={getAt(values, field.path)} error={errors[field.path]} />)}
            </fieldset>
          ))}
          <fieldset class="settings">
            <legend>Push configuration</legend>
            <p class="hint">Nothing to set: Outpost apps learn of new messages over their own connection to this server, so no push provider is involved.</p>
          </fieldset>
          <button type="submit">Save security group</button>
        </form>
      </>,
    );
  };

  return [
    { method: "GET", path: "/network/:nid/security-groups", permission: null, handler: (c) => list(c) },
    {
      method: "POST",
      path: "/network/:nid/security-groups",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        try {
          const g = await createSecurityGroup(ctx, actorOf(c), nidOf(c), { name: f.get("name"), settings: defaultSecurityGroupSettings() });
          return c.redirect(`/network/${nidOf(c)}/security-groups/${g.id}?notice=group-created`, 303);
        } catch (e) {
          return list(c, errorsOf(e), (e as AppError).status);
        }
      },
    },
    { method: "GET", path: "/network/:nid/security-groups/:id", permission: null, handler: (c) => detail(c) },
    {
      method: "POST",
      path: "/network/:nid/security-groups/:id",
      permission: null,
      handler: async (c) => {
        const f = await readForm(c);
        const nid = nidOf(c);
        const id = c.req.param("id")!;
        securityGroupSummary(ctx, nid, id);
        const settings = settingsFromForm(f);
        try {
          await updateSecurityGroup(ctx, actorOf(c), nid, id, { name: f.get("name"), settings, tagIds: f.all("tagIds") });
        } catch (e) {
          if ((e as AppError).code === "not_found") throw e;
          return detail(c, settingErrors(e), settings, (e as AppError).status);
        }
        return c.redirect(`/network/${nid}/security-groups/${id}?notice=group-saved`, 303);
      },
    },
    {
      method: "POST",
      path: "/network/:nid/security-groups/:id/delete",
      permission: null,
      handler: async (c) => {
        try {
          await deleteSecurityGroup(ctx, actorOf(c), nidOf(c), c.req.param("id")!);
        } catch (e) {
          if ((e as AppError).code === "conflict") return list(c, { _form: sentence((e as AppError).message) }, 409);
          throw e;
        }
        return c.redirect(`/network/${nidOf(c)}/security-groups?notice=group-deleted`, 303);
      },
    },
  ];
}

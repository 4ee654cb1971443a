// Shared console building blocks (super and network administrator consoles):
// labelled fields with their errors next to them, an error summary that
// links to the fields, notices, tables and a pager. Server-rendered; every
// form works without JavaScript.
import type { Child } from "hono/jsx";
import { AppError } from "../http/errors.ts";

export type FieldErrors = Record<string, string>;

/** Field errors of a failed action, keyed by field name; `_form` holds an error no field owns. */
export function errorsOf(err: unknown): FieldErrors {
  if (!(err instanceof AppError)) throw err;
  const out: FieldErrors = {};
  if (Array.isArray(err.details)) {
    for (const d of err.details) {
      const key = d.path.split(".")[0] ?? "_form";
      out[key] ??= d.message;
    }
  }
  if (!Object.keys(out).length) out._form = err.message;
  return out;
}

/** Service messages are lower-case fragments (API style); the console shows them as sentences. */
export const sentence = (m: string) => m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? "" : ".");

export function Csrf(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

export function ErrorSummary(props: { errors: FieldErrors; labels?: Record<string, string> }) {
  const entries = Object.entries(props.errors);
  if (!entries.length) return null;
  return (
    <div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex={-1}>
      <h2 id="error-summary-title">There is a problem</h2>
      <ul>
        {entries.map(([field, message]) =>
          field === "_form" ? (
            <li>{sentence(message)}</li>
          ) : (
            <li>
              <a href={`#f-${field}`}>
                {props.labels?.[field] ?? field}: {message}
              </a>
            </li>
          ),
        )}
      </ul>
    </div>
  );
}

export function Notice(props: { text: string | undefined }) {
  if (!props.text) return null;
  return (
    <p class="notice" role="status">
      {props.text}
    </p>
  );
}

interface FieldProps {
  name: string;
  label: string;
  value?: string | number | null | undefined;
  error?: string | undefined;
  hint?: string;
  type?: string;
  autocomplete?: string;
  required?: boolean;
  inputmode?: "numeric" | "text";
  pattern?: string;
  maxlength?: number;
  min?: number;
  max?: number;
  autofocus?: boolean;
}

/** A labelled input; its hint and error are tied to it with aria-describedby. */
export function Field(p: FieldProps) {
  const id = `f-${p.name}`;
  const describedBy = [p.hint ? `${id}-hint` : "", p.error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={p.error ? "field field-error" : "field"}>
      <label for={id}>{p.label}</label>
      {p.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {p.hint}
        </p>
      ) : null}
      {p.error ? (
        <p class="error" id={`${id}-error`}>
          <span class="visually-hidden">Error: </span>
          {p.error}
        </p>
      ) : null}
      <input
        id={id}
        name={p.name}
        type={p.type ?? "text"}
        value={p.type === "password" ? undefined : (p.value ?? undefined)}
        autocomplete={p.autocomplete}
        required={p.required}
        inputmode={p.inputmode}
        pattern={p.pattern}
        maxlength={p.maxlength}
        min={p.min}
        max={p.max}
        autofocus={p.autofocus}
        aria-invalid={p.error ? "true" : undefined}
        aria-describedby={describedBy}
      />
    </div>
  );
}

export function TextArea(p: { name: string; label: string; value?: string; error?: string | undefined; hint?: string; maxlength?: number }) {
  const id = `f-${p.name}`;
  const describedBy = [p.hint ? `${id}-hint` : "", p.error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={p.error ? "field field-error" : "field"}>
      <label for={id}>{p.label}</label>
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
      {p.error ? <p class="error" id={`${id}-error`}><span class="visually-hidden">Error: </span>{p.error}</p> : null}
      <textarea id={id} name={p.name} rows={4} maxlength={p.maxlength} aria-invalid={p.error ? "true" : undefined} aria-describedby={describedBy}>
        {p.value ?? ""}
      </textarea>
    </div>
  );
}

export function Select(p: { name: string; label: string; options: { value: string; label: string }[]; value?: string | null | undefined; error?: string | undefined; hint?: string }) {
  const id = `f-${p.name}`;
  const describedBy = [p.hint ? `${id}-hint` : "", p.error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={p.error ? "field field-error" : "field"}>
      <label for={id}>{p.label}</label>
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
      {p.error ? <p class="error" id={`${id}-error`}><span class="visually-hidden">Error: </span>{p.error}</p> : null}
      <select id={id} name={p.name} aria-invalid={p.error ? "true" : undefined} aria-describedby={describedBy}>
        {p.options.map((o) => (
          <option value={o.value} selected={o.value === (p.value ?? "")}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A group of checkboxes sharing one name, in a fieldset with a legend. */
export function Checkboxes(p: { name: string; legend: string; options: { value: string; label: string; hint?: string }[]; checked: string[]; error?: string | undefined }) {
  const id = `f-${p.name}`;
  return (
    <fieldset class={p.error ? "field field-error" : "field"} id={id} aria-describedby={p.error ? `${id}-error` : undefined}>
      <legend>{p.legend}</legend>
      {p.error ? <p class="error" id={`${id}-error`}><span class="visually-hidden">Error: </span>{p.error}</p> : null}
      {p.options.length === 0 ? <p class="hint">None available.</p> : null}
      {p.options.map((o, i) => (
        <div class="check">
          <input type="checkbox" id={`${id}-${i}`} name={p.name} value={o.value} checked={p.checked.includes(o.value)} />
          <label for={`${id}-${i}`}>
            {o.label}
            {o.hint ? <span class="hint"> — {o.hint}</span> : null}
          </label>
        </div>
      ))}
    </fieldset>
  );
}

export function Checkbox(p: { name: string; label: string; checked: boolean; hint?: string }) {
  const id = `f-${p.name}`;
  return (
    <div class="field check">
      <input type="checkbox" id={id} name={p.name} value="on" checked={p.checked} aria-describedby={p.hint ? `${id}-hint` : undefined} />
      <label for={id}>{p.label}</label>
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
    </div>
  );
}

/** A one-button form (POST with the CSRF token), e.g. "Unlock" or "Revoke". */
export function ActionButton(p: { action: string; csrf: string; label: string; danger?: boolean; hidden?: Record<string, string>; describedBy?: string }) {
  return (
    <form method="post" action={p.action} class="inline">
      <Csrf token={p.csrf} />
      {Object.entries(p.hidden ?? {}).map(([k, v]) => <input type="hidden" name={k} value={v} />)}
      <button type="submit" class={p.danger ? "danger" : "secondary"} aria-describedby={p.describedBy}>
        {p.label}
      </button>
    </form>
  );
}

export function Pager(p: { base: string; query: Record<string, string | undefined>; offset: number; limit: number; total: number }) {
  if (p.total <= p.limit) return null;
  const link = (offset: number) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(p.query)) if (v) q.set(k, v);
    q.set("offset", String(offset));
    return `${p.base}?${q}`;
  };
  const page = Math.floor(p.offset / p.limit) + 1;
  const pages = Math.ceil(p.total / p.limit);
  return (
    <nav class="pager" aria-label="Pages">
      {p.offset > 0 ? <a href={link(Math.max(0, p.offset - p.limit))} rel="prev">Previous page</a> : null}
      <span>
        Page {page} of {pages}
      </span>
      {p.offset + p.limit < p.total ? <a href={link(p.offset + p.limit)} rel="next">Next page</a> : null}
    </nav>
  );
}

export const when = (d: Date | null | undefined): string => (d ? d.toISOString().replace("T", " ").slice(0, 19) + " UTC" : "never");

export type { Child };

/** @jsxImportSource preact */
// Dialogs: new direct message / group / room, conversation details (moderation: title,
// description, timers, members, moderators), safety-number verification with a QR code,
// and device settings (sync code for a second device, presence, forgetting this device).
import { useEffect, useState } from "preact/hooks";
import { renderSVG } from "uqr";
import {
  changeMembers,
  changePassword,
  createGroupOrRoom,
  createSyncCode,
  findUser,
  forgetDevice,
  leaveConversation,
  me,
  nameOf,
  openDirect,
  policy,
  saveNow,
  sdk,
  setPresence,
  updateSettings,
  type Conversation,
} from "../store.ts";
import { disableNotifications, enableNotifications, notificationsOn } from "../notify.ts";
import { checkUserPassword, describePasswordRule } from "../../../src/modules/security-groups/password-rule.ts";
import { duration, errorMessage, ErrorText, Modal, TIMER_CHOICES } from "./common.tsx";

function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

function TimerSelect(props: { name: string; label: string; value: number }) {
  const choices = TIMER_CHOICES.some(([v]) => v === props.value) ? TIMER_CHOICES : [...TIMER_CHOICES, [props.value, duration(props.value)] as [number, string]];
  return (
    <label class="field">
      <span>{props.label}</span>
      <select name={props.name} defaultValue={String(props.value)}>
        {choices.map(([v, l]) => (
          <option key={v} value={String(v)}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );
}

const names = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

export function NewConversation(props: { kind: "direct" | "group" | "room"; onClose: () => void }) {
  const { busy, error, run } = useAction();
  const title = props.kind === "direct" ? "New direct message" : props.kind === "group" ? "New group" : "New room";
  async function submit(e: Event) {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const ok = await run(() =>
      props.kind === "direct"
        ? openDirect(String(f.get("username")))
        : createGroupOrRoom(props.kind as "group" | "room", {
            title: String(f.get("title") ?? ""),
            description: String(f.get("description") ?? ""),
            members: names(String(f.get("members") ?? "")),
            ttl: Number(f.get("ttl") ?? 0),
            bor: Number(f.get("bor") ?? 0),
          }),
    );
    if (ok) props.onClose();
  }
  return (
    <Modal title={title} onClose={props.onClose}>
      <form onSubmit={submit}>
        {props.kind === "direct" ? (
          <label class="field">
            <span>Username</span>
            <input name="username" required autoFocus />
          </label>
        ) : (
          <>
            <label class="field">
              <span>{props.kind === "room" ? "Title" : "Title (optional)"}</span>
              <input name="title" required={props.kind === "room"} maxLength={200} autoFocus />
            </label>
            {props.kind === "room" && (
              <label class="field">
                <span>Description (optional)</span>
                <textarea name="description" maxLength={2000} />
              </label>
            )}
            <label class="field">
              <span>Members (usernames, separated by commas or spaces)</span>
              <input name="members" required={props.kind === "group"} />
            </label>
            <TimerSelect name="ttl" label="Messages expire after" value={0} />
            <TimerSelect name="bor" label="Burn after reading" value={0} />
          </>
        )}
        <ErrorText error={error} />
        <div class="row">
          <button type="submit" disabled={busy}>
            {props.kind === "direct" ? "Open" : "Create"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function ConversationSettings(props: { conversation: Conversation; onClose: () => void }) {
  const c = props.conversation;
  const { busy, error, run } = useAction();
  const mine = c.members.find((m) => m.userId === me.value?.userId);
  // Rooms: moderators change everything; groups: every member; direct: timers only.
  const canEdit = c.kind !== "room" || mine?.role === "moderator";
  async function save(e: Event) {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const patch: { title?: string; description?: string; ttl?: number; bor?: number } = {};
    if (c.kind !== "direct") {
      const t = String(f.get("title") ?? "");
      if (t !== c.title) patch.title = t;
    }
    if (c.kind === "room") {
      const d = String(f.get("description") ?? "");
      if (d !== c.description) patch.description = d;
    }
    const ttl = Number(f.get("ttl"));
    const bor = Number(f.get("bor"));
    if (ttl !== c.ttl) patch.ttl = ttl;
    if (bor !== c.bor) patch.bor = bor;
    if (Object.keys(patch).length) await run(() => updateSettings(c.id, patch));
  }
  async function add(e: Event) {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const list = names(String(new FormData(form).get("add") ?? ""));
    const ok = await run(async () => {
      const ids: string[] = [];
      for (const n of list) ids.push((await findUser(n)).userId);
      await changeMembers(c.id, { add: ids });
    });
    if (ok) form.reset();
  }
  return (
    <Modal title={c.kind === "direct" ? "Timers" : c.kind === "room" ? "Room details" : "Group details"} onClose={props.onClose}>
      <form onSubmit={save}>
        {c.kind !== "direct" && (
          <label class="field">
            <span>Title</span>
            <input name="title" defaultValue={c.title} maxLength={200} disabled={!canEdit} required={c.kind === "room"} />
          </label>
        )}
        {c.kind === "room" && (
          <label class="field">
            <span>Description</span>
            <textarea name="description" defaultValue={c.description} maxLength={2000} disabled={!canEdit} />
          </label>
        )}
        <TimerSelect name="ttl" label="Messages expire after" value={c.ttl} />
        <TimerSelect name="bor" label="Burn after reading" value={c.bor} />
        {policy.value?.maxExpirationSeconds ? <p class="muted">Your security group keeps messages at most {duration(policy.value.maxExpirationSeconds)}.</p> : null}
        {canEdit && (
          <div class="row">
            <button type="submit" disabled={busy}>
              Save
            </button>
          </div>
        )}
      </form>
      {c.kind !== "direct" && (
        <section aria-labelledby="members-title">
          <h3 id="members-title">Members ({c.members.length})</h3>
          <ul class="members">
            {c.members.map((m) => (
              <li key={m.userId}>
                <span>
                  {nameOf(m.userId)}
                  {m.role === "moderator" && <span class="tag">moderator</span>}
                </span>
                {canEdit && m.userId !== me.value?.userId && (
                  <span class="row">
                    {c.kind === "room" && m.role !== "moderator" && (
                      <button type="button" class="small secondary" disabled={busy} onClick={() => void run(() => changeMembers(c.id, { moderators: [m.userId] }))}>
                        Make moderator
                      </button>
                    )}
                    <button type="button" class="small secondary" disabled={busy} onClick={() => void run(() => changeMembers(c.id, { remove: [m.userId] }))}>
                      Remove
                    </button>
                  </span>
                )}
              </li>
            ))}
          </ul>
          {canEdit && (
            <form onSubmit={add} class="compose-row">
              <label class="field grow">
                <span>Add members (usernames)</span>
                <input name="add" required />
              </label>
              <button type="submit" disabled={busy}>
                Add
              </button>
            </form>
          )}
          <div class="row">
            <button type="button" class="secondary" disabled={busy} onClick={() => void run(() => leaveConversation(c.id, false))}>
              Leave
            </button>
            {c.kind === "room" && mine?.role === "moderator" && (
              <button
                type="button"
                class="danger"
                disabled={busy}
                onClick={() => {
                  if (confirm("Delete this room for every member?")) void run(() => leaveConversation(c.id, true));
                }}
              >
                Delete room
              </button>
            )}
          </div>
        </section>
      )}
      <ErrorText error={error} />
    </Modal>
  );
}

export function VerifyDialog(props: { conversation: Conversation; userId: string; onClose: () => void }) {
  const [number, setNumber] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const [verified, setVerified] = useState(false);
  useEffect(() => {
    void run(async () => setNumber(await sdk().safetyNumber(props.userId)));
  }, [props.userId]);
  const groups = number?.replace(/\s/g, "").match(/.{1,5}/g) ?? [];
  const qr = number ? `data:image/svg+xml;utf8,${encodeURIComponent(renderSVG(`outpost-safety:${number}`, { border: 2, whiteColor: "#ffffff", blackColor: "#000000" }))}` : null;
  return (
    <Modal title={`Verify ${nameOf(props.userId)}`} onClose={props.onClose}>
      <p>Compare this safety number with {nameOf(props.userId)}, in person or on a call you trust. If both screens show the same number, nobody stands between you.</p>
      {number ? (
        <>
          <p class="safety" aria-label={`Safety number ${groups.join(" ")}`} data-testid="safety-number">
            {groups.map((g, i) => (
              <span key={i}>{g}</span>
            ))}
          </p>
          {qr && <img class="qr" src={qr} width={200} height={200} alt={`QR code of the safety number with ${nameOf(props.userId)}`} />}
        </>
      ) : (
        <p aria-busy="true">Computing…</p>
      )}
      <ErrorText error={error} />
      <div class="row">
        <button type="button" class="secondary" disabled={busy || !number} onClick={() => void run(() => sdk().sendVerification(props.conversation.id, 1, number ?? undefined))}>
          Ask to compare
        </button>
        <button
          type="button"
          disabled={busy || !number || verified}
          onClick={() =>
            void run(async () => {
              await sdk().markVerified(props.userId);
              await saveNow();
              setVerified(true);
            })
          }
        >
          {verified ? "Verified" : "The numbers match"}
        </button>
      </div>
    </Modal>
  );
}

export function SettingsDialog(props: { onClose: () => void }) {
  const [code, setCode] = useState<{ code: string; messages: number } | null>(null);
  const [withHistory, setWithHistory] = useState(true);
  const { busy, error, run } = useAction();
  return (
    <Modal title="Settings" onClose={props.onClose}>
      <section aria-labelledby="dev-title">
        <h3 id="dev-title">Add a device</h3>
        <p>Sign in on the new device; when it asks for a sync code, enter the one shown here. The code works once, for 10 minutes.</p>
        <label class="check">
          <input type="checkbox" checked={withHistory} onChange={(e) => setWithHistory((e.currentTarget as HTMLInputElement).checked)} />
          <span>Bring this device's conversations and messages (encrypted under the code)</span>
        </label>
        {code && (
          <>
            <p class="code" data-testid="sync-code">
              {code.code}
            </p>
            <p class="muted" role="status">
              {code.messages ? `The new device also receives ${code.messages} message${code.messages === 1 ? "" : "s"} from here.` : "The new device starts without this device's messages."}
            </p>
          </>
        )}
        <button type="button" disabled={busy} onClick={() => void run(async () => setCode(await createSyncCode(withHistory)))}>
          Show a sync code
        </button>
      </section>
      {policy.value?.presence && (
        <section aria-labelledby="presence-title">
          <h3 id="presence-title">Status</h3>
          <div class="row" role="group" aria-labelledby="presence-title">
            {(["available", "busy", "away"] as const).map((s) => (
              <button type="button" class="secondary small" key={s} onClick={() => void run(async () => setPresence(s))}>
                {s[0]!.toUpperCase() + s.slice(1)}
              </button>
            ))}
          </div>
        </section>
      )}
      <NotificationSettings />
      <PasswordForm />
      <section aria-labelledby="forget-title">
        <h3 id="forget-title">This browser</h3>
        <p>Your keys and messages are kept here encrypted under your password.</p>
        <button
          type="button"
          class="danger"
          onClick={() => {
            if (confirm("Remove your keys and messages from this browser? You will need a sync code from another device, or your administrator, to sign in again.")) void forgetDevice();
          }}
        >
          Remove from this browser
        </button>
      </section>
      <ErrorText error={error} />
    </Modal>
  );
}

function NotificationSettings() {
  const [error, setError] = useState<string | null>(null);
  const on = notificationsOn.value;
  return (
    <section aria-labelledby="notify-title">
      <h3 id="notify-title">Notifications</h3>
      <p>
        While Outpost is in the background, new messages are announced by this browser.{" "}
        {policy.value?.previewNotifications ? "They show the message." : "Your security group lets them show only who a message is from."}
      </p>
      <label class="check">
        <input
          type="checkbox"
          checked={on}
          onChange={async (e) => {
            setError(null);
            if ((e.currentTarget as HTMLInputElement).checked) setError(await enableNotifications());
            else disableNotifications();
          }}
        />{" "}
        Notify me of new messages
      </label>
      <ErrorText error={error} />
    </section>
  );
}

/**
 * Choosing a new password, where the security group allows it: the group's rule is shown and
 * checked here before the server checks it again. `given` is the password just used to sign
 * in (the first-registration offer), so it is not asked for twice.
 */
export function PasswordForm(props: { given?: string; onDone?: () => void }) {
  const { busy, error, run } = useAction();
  const [done, setDone] = useState(false);
  const [mismatch, setMismatch] = useState<string | null>(null);
  const change = policy.value?.passwordChange;
  if (change && !change.allowed)
    return (
      <section aria-labelledby="password-title">
        <h3 id="password-title">Password</h3>
        <p>Your security group does not let you change your password. Ask a network administrator.</p>
      </section>
    );
  async function submit(e: Event) {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    setDone(false);
    setMismatch(null);
    const next = String(f.get("next"));
    const broken = change ? checkUserPassword(next, change.rule) : null;
    if (broken) return setMismatch(`The new password ${broken}.`);
    if (next !== f.get("confirm")) return setMismatch("The new password and its confirmation differ.");
    if (await run(() => changePassword(props.given ?? String(f.get("current")), next))) {
      form.reset();
      setDone(true);
      props.onDone?.();
    }
  }
  return (
    <section aria-labelledby="password-title">
      <h3 id="password-title">{props.given ? "Choose your own password" : "Change password"}</h3>
      <p>
        {props.given ? "You signed in with the password your administrator gave you. You may replace it with one only you know. " : ""}
        This browser's vault is re-encrypted under the new password.
      </p>
      <form onSubmit={submit}>
        <input type="text" name="username" autoComplete="username" value={me.value?.username ?? ""} hidden readOnly />
        {!props.given && (
          <label class="field">
            <span>Current password</span>
            <input name="current" type="password" autoComplete="current-password" required />
          </label>
        )}
        <label class="field">
          <span>New password</span>
          <input name="next" type="password" autoComplete="new-password" required aria-describedby="password-rule" />
        </label>
        {change && (
          <p id="password-rule" class="muted">
            {describePasswordRule(change.rule)}
          </p>
        )}
        <label class="field">
          <span>New password again</span>
          <input name="confirm" type="password" autoComplete="new-password" required />
        </label>
        <ErrorText error={mismatch ?? error} />
        {done && <p role="status">Password changed.</p>}
        <div class="row">
          <button type="submit" disabled={busy}>
            {props.given ? "Use this password" : "Change password"}
          </button>
        </div>
      </form>
    </section>
  );
}

/** Offered once, right after this user's first device registered, when the group allows it. */
export function PasswordOffer(props: { given: string; onClose: () => void; onDone: () => void }) {
  return (
    <Modal title="Your password" onClose={props.onClose}>
      <PasswordForm given={props.given} onDone={() => (props.onDone(), props.onClose())} />
    </Modal>
  );
}

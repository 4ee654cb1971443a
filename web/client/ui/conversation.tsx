/** @jsxImportSource preact */
// One open conversation: header with its timers and actions, the message log (edits,
// stars, delete/recall, failed sends with retry, countdowns) and the composer (text,
// quick responses, location, typing signal).
import { useEffect, useRef, useState } from "preact/hooks";
import {
  conversationTitle,
  deleteMessage,
  downloadFile,
  filesAreaAvailable,
  editMessage,
  markRead,
  me,
  messages,
  nameOf,
  now,
  openConversation,
  policy,
  presence,
  retry,
  retryUpload,
  canResume,
  sendFile,
  sendLocation,
  sendText,
  sendTyping,
  setPinned,
  toggleStar,
  typing,
  type Conversation,
  type LocalMessage,
} from "../store.ts";
import { clock, duration, errorMessage, ErrorText, fileSize, uploadRefusal } from "./common.tsx";
import { ConversationSettings, VerifyDialog } from "./dialogs.tsx";
import { CallBar, CallButton } from "./call.tsx";
import { FilesArea } from "./files-area.tsx";

export function ConversationPane(props: { conversation: Conversation }) {
  const c = props.conversation;
  const [dialog, setDialog] = useState<null | "settings" | "verify" | "files">(null);
  // The Files button shows only in rooms of networks whose file management is on.
  const [hasFiles, setHasFiles] = useState(false);
  useEffect(() => {
    setHasFiles(false);
    if (c.kind === "room") void filesAreaAvailable(c.id).then(setHasFiles, () => setHasFiles(false));
  }, [c.id, c.kind]);
  const list = messages.value.filter((m) => m.conversationId === c.id).sort((a, b) => a.sentAt - b.sentAt);
  const logRef = useRef<HTMLDivElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  // Opening a conversation moves focus to its title (on phones the list that had focus is gone).
  useEffect(() => headingRef.current?.focus(), [c.id]);
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [list.length]);
  useEffect(() => {
    const onVisible = () => document.visibilityState === "visible" && markRead(c.id);
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, [c.id]);
  const other = c.kind === "direct" ? c.members.find((m) => m.userId !== me.value?.userId) : undefined;
  const typer = typing.value[c.id];
  return (
    <section class="conversation" aria-labelledby="conv-title">
      <header class="conv-head">
        <button type="button" class="secondary small back" onClick={() => openConversation(null)}>
          ← Conversations
        </button>
        <div class="conv-name">
          <h1 id="conv-title" ref={headingRef} tabIndex={-1}>{conversationTitle(c)}</h1>
          <p class="muted">
            {c.kind === "direct" ? `Direct message${other && presence.value[other.userId] ? ` · ${presence.value[other.userId]}` : ""}` : `${c.kind === "room" ? "Room" : "Group"} · ${c.members.length} members`}
            {c.ttl > 0 && ` · expires after ${duration(c.ttl)}`}
            {c.bor > 0 && ` · burns ${duration(c.bor)} after reading`}
          </p>
          {c.description && <p class="description">{c.description}</p>}
        </div>
        <div class="conv-actions">
          <CallButton conversation={c} />
          <button type="button" class="secondary small" aria-pressed={c.pinned} onClick={() => void setPinned(c.id, !c.pinned)}>
            {c.pinned ? "Unpin" : "Pin"}
          </button>
          {other && (
            <button type="button" class="secondary small" onClick={() => setDialog("verify")}>
              Verify
            </button>
          )}
          {hasFiles && (
            <button type="button" class="secondary small" onClick={() => setDialog("files")}>
              Files
            </button>
          )}
          <button type="button" class="secondary small" onClick={() => setDialog("settings")}>
            {c.kind === "direct" ? "Timers" : "Details"}
          </button>
        </div>
      </header>
      <CallBar />
      <div class="log" ref={logRef} role="log" aria-live="polite" aria-label="Messages" tabIndex={0}>
        {list.length === 0 ? (
          <p class="muted center">No messages here yet. Messages are end-to-end encrypted.</p>
        ) : (
          <ol class="messages">
            {list.map((m) => (
              <MessageItem key={m.id} m={m} />
            ))}
          </ol>
        )}
      </div>
      <p class="typing" aria-live="polite">
        {typer && typer.userId !== me.value?.userId ? `${nameOf(typer.userId)} is typing…` : ""}
      </p>
      <Composer conversation={c} />
      {dialog === "settings" && <ConversationSettings conversation={c} onClose={() => setDialog(null)} />}
      {dialog === "files" && <FilesArea conversation={c} onClose={() => setDialog(null)} />}
      {dialog === "verify" && other && <VerifyDialog conversation={c} userId={other.userId} onClose={() => setDialog(null)} />}
    </section>
  );
}

function timerText(m: LocalMessage): string | null {
  const t = now.value;
  const parts: string[] = [];
  // The security group's long default maximum would put a timer on every message: only
  // timers within a week are shown on messages (the conversation header shows its setting).
  if (m.ttl > 0 && m.ttl <= 7 * 86400) parts.push(`expires in ${duration(Math.max(0, Math.ceil((m.sentAt + m.ttl * 1000 - t) / 1000)))}`);
  if (m.bor > 0) parts.push(m.readAt !== undefined ? `burns in ${duration(Math.max(0, Math.ceil((m.readAt + m.bor * 1000 - t) / 1000)))}` : `burns ${duration(m.bor)} after reading`);
  return parts.length ? parts.join(" · ") : null;
}

function MessageItem(props: { m: LocalMessage }) {
  const m = props.m;
  const mine = m.senderUserId === me.value?.userId;
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const menu = useRef<HTMLDetailsElement>(null);
  if (m.kind === "notice") {
    return (
      <li class="notice" data-id={m.id}>
        {m.text} · {clock(m.sentAt)}
      </li>
    );
  }
  const timers = timerText(m);
  const act = (fn: () => Promise<unknown>) => () => {
    menu.current?.removeAttribute("open");
    setError(null);
    fn().catch((e) => setError(errorMessage(e)));
  };
  return (
    <li class={`msg ${mine ? "mine" : "theirs"} ${m.status}`} data-id={m.id}>
      <div class="meta">
        <span class="sender">{nameOf(m.senderUserId)}</span> <time dateTime={new Date(m.sentAt).toISOString()}>{clock(m.sentAt)}</time>
        {m.starred && (
          <span>
            <span aria-hidden="true"> ★</span>
            <span class="sr-only"> starred</span>
          </span>
        )}
        {m.edited && <span class="muted"> (edited)</span>}
      </div>
      {editing ? (
        <form
          class="edit"
          onSubmit={(e) => {
            e.preventDefault();
            const text = String(new FormData(e.currentTarget).get("text") ?? "").trim();
            if (text) act(() => editMessage(m, text).then(() => setEditing(false)))();
          }}
        >
          <label class="field">
            <span>Edit message</span>
            <textarea name="text" defaultValue={m.text} required autoFocus />
          </label>
          <div class="row">
            <button type="button" class="secondary small" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" class="small">
              Save
            </button>
          </div>
        </form>
      ) : (
        <div class="body">{m.kind === "file" && m.file ? <FileView m={m} /> : m.kind === "location" && m.location ? <LocationView m={m} /> : <TextView m={m} />}</div>
      )}
      <div class="foot">
        {timers && <span class="timer">{timers}</span>}
        {mine && (
          <span class={`state ${m.status}`}>
            {m.status === "sending" ? "Sending…" : m.status === "failed" ? `Not sent${m.error ? `: ${m.error}` : ""}` : m.status === "read" ? "Read" : "Sent"}
          </span>
        )}
        {mine && m.status === "failed" && (m.kind !== "file" || canResume(m.id)) && (
          <button type="button" class="small" onClick={act(() => (m.kind === "file" ? retryUpload(m.id) : retry(m.id)))}>
            Retry
          </button>
        )}
        <details class="actions" ref={menu}>
          <summary aria-label="Message actions">⋯</summary>
          <div class="menu">
            <button type="button" class="small secondary" onClick={act(() => toggleStar(m))}>
              {m.starred ? "Unstar" : "Star"}
            </button>
            {mine && m.kind === "text" && m.status !== "failed" && (
              <button
                type="button"
                class="small secondary"
                onClick={() => {
                  menu.current?.removeAttribute("open");
                  setEditing(true);
                }}
              >
                Edit
              </button>
            )}
            <button type="button" class="small secondary" onClick={act(() => deleteMessage(m, false))}>
              Delete for me
            </button>
            {mine && m.status !== "failed" && (
              <button type="button" class="small secondary" onClick={act(() => deleteMessage(m, true))}>
                Recall for everyone
              </button>
            )}
          </div>
        </details>
      </div>
      <ErrorText error={error} />
    </li>
  );
}


/** A file message: name and size; Download fetches, decrypts and verifies it, then offers it as a Blob link. */
function FileView(props: { m: LocalMessage }) {
  const m = props.m;
  const f = m.file!;
  const [progress, setProgress] = useState<number | null>(null);
  const [saved, setSaved] = useState<{ url: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const link = useRef<HTMLAnchorElement>(null);
  // The object URL lives as long as the message is on screen.
  useEffect(() => () => saved && URL.revokeObjectURL(saved.url), [saved]);
  useEffect(() => {
    if (saved) link.current?.click();
  }, [saved]);
  async function download() {
    setError(null);
    setProgress(0);
    try {
      const blob = await downloadFile(m, setProgress);
      setSaved({ url: URL.createObjectURL(blob) });
    } catch (e) {
      setError(`Download failed: ${errorMessage(e)}`);
    } finally {
      setProgress(null);
    }
  }
  const uploading = m.progress !== undefined && m.status === "sending";
  return (
    <div class="file">
      <p class="text">
        <span aria-hidden="true">📎 </span>
        <span class="file-name">{f.name}</span> <span class="muted">({fileSize(f.size)})</span>
      </p>
      {uploading && <progress max={1} value={m.progress} aria-label={`Uploading ${f.name}`} />}
      {progress !== null && <progress max={1} value={progress} aria-label={`Downloading ${f.name}`} />}
      {f.fileid && !uploading && progress === null && policy.value?.attachments === false && <p class="muted">Attachments are switched off for your security group.</p>}
      {f.fileid && !uploading && progress === null && policy.value?.attachments !== false && (
        <div class="row">
          <button type="button" class="small secondary" onClick={() => void download()}>
            Download
          </button>
          {saved && (
            <a ref={link} href={saved.url} download={f.name} class="small">
              Save {f.name} again
            </a>
          )}
        </div>
      )}
      <ErrorText error={error} />
    </div>
  );
}

function TextView(props: { m: LocalMessage }) {
  const text = props.m.text ?? "";
  const parts = text.split(/(\bhttps?:\/\/[^\s<>"']+)/g);
  const previews = policy.value?.linkPreviews ? (props.m.links ?? []) : [];
  return (
    <>
      <p class="text">
        {parts.map((p, i) =>
          i % 2 === 1 ? (
            <a key={i} href={p} target="_blank" rel="noopener noreferrer nofollow">
              {p}
            </a>
          ) : (
            p
          ),
        )}
      </p>
      {previews.map((l) => {
        // A preview shows what the link itself says (its site and path); nothing is fetched,
        // so opening a conversation never tells a third party who is reading it.
        let u: URL | null = null;
        try {
          u = new URL(l.url);
        } catch {
          return null;
        }
        return (
          <div class="preview" key={l.url}>
            <strong>{u.hostname}</strong>
            <span class="muted">{u.pathname !== "/" ? u.pathname : ""}</span>
          </div>
        );
      })}
    </>
  );
}

function LocationView(props: { m: LocalMessage }) {
  const l = props.m.location!;
  const lat = l.latitude.toFixed(5);
  const lon = l.longitude.toFixed(5);
  return (
    <p class="text">
      📍 Location {lat}, {lon}
      {l.accuracy ? ` (±${Math.round(l.accuracy)} m)` : ""}{" "}
      <a href={`geo:${lat},${lon}`} rel="noopener noreferrer">
        Open in maps
      </a>
    </p>
  );
}

function Composer(props: { conversation: Conversation }) {
  const c = props.conversation;
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const quick = policy.value?.quickResponses ?? [];
  function submit(e?: Event) {
    e?.preventDefault();
    const t = text.trim();
    if (!t) return;
    setText("");
    void sendText(c.id, t);
  }
  function shareLocation() {
    setError(null);
    if (!navigator.geolocation) return setError("This browser cannot tell its location.");
    navigator.geolocation.getCurrentPosition(
      (p) => void sendLocation(c.id, { latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy: p.coords.accuracy }),
      (err) => setError(`Location unavailable: ${err.message}`),
      { timeout: 15_000 },
    );
  }
  return (
    <form class="composer" onSubmit={submit}>
      {quick.length > 0 && (
        <div class="quick" role="group" aria-label="Quick responses">
          {quick.map((q) => (
            <button type="button" class="small secondary" key={q} onClick={() => void sendText(c.id, q)}>
              {q}
            </button>
          ))}
        </div>
      )}
      <div class="compose-row">
        <label class="field grow">
          <span class="sr-only">Message</span>
          <textarea
            name="message"
            rows={1}
            placeholder="Write a message"
            value={text}
            onInput={(e) => {
              setText(e.currentTarget.value);
              sendTyping(c.id);
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) submit(e);
            }}
          />
        </label>
        {policy.value?.attachments !== false && (
          <label class="button secondary attach">
            Attach
            <input
              type="file"
              class="sr-only"
              aria-label="Attach a file"
              onChange={(e) => {
                const input = e.currentTarget as HTMLInputElement;
                const f = input.files?.[0];
                input.value = "";
                if (!f) return;
                const refused = uploadRefusal(f, policy.value);
                setError(refused);
                if (!refused) void sendFile(c.id, f);
              }}
            />
          </label>
        )}
        {policy.value?.locationSharing && (
          <button type="button" class="secondary" onClick={shareLocation}>
            Location
          </button>
        )}
        <button type="submit">Send</button>
      </div>
      <ErrorText error={error} />
    </form>
  );
}

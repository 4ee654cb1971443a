/** @jsxImportSource preact */
// The messenger: conversation list (with unread counts, pinning and on-device search)
// beside the open conversation. On narrow screens one of the two fills the screen.
import { useState } from "preact/hooks";
import { connected, conversationTitle, current, lock, me, openConversation, search, sortedConversations, conversations, nameOf, presence, clearNotice, notice, passwordOffer } from "../store.ts";
import { ConversationPane } from "./conversation.tsx";
import { NewConversation, PasswordOffer, SettingsDialog } from "./dialogs.tsx";
import { clock } from "./common.tsx";

export function Messenger() {
  const [dialog, setDialog] = useState<null | "direct" | "group" | "room" | "settings" | "password">(null);
  const [query, setQuery] = useState("");
  const open = current.value;
  const found = query ? search(query) : [];
  return (
    <div class={`shell ${open ? "has-open" : ""}`}>
      <header class="topbar">
        <span class="brand">Outpost</span>
        <span class={`status ${connected.value ? "online" : "offline"}`} role="status">
          {connected.value ? "Connected" : "Offline — reconnecting…"}
        </span>
        <span class="me">{me.value?.username}</span>
        <button type="button" class="secondary small" onClick={() => setDialog("settings")}>
          Settings
        </button>
        <button type="button" class="secondary small" onClick={() => void lock()}>
          Lock
        </button>
      </header>
      {notice.value && (
        <div class="banner" role="alert">
          {notice.value}{" "}
          <button type="button" class="link" onClick={clearNotice}>
            Dismiss
          </button>
        </div>
      )}
      {passwordOffer.value !== null && dialog !== "password" && (
        <section class="banner" aria-label="Your password">
          You signed in with the password your administrator gave you.{" "}
          <button type="button" class="link" onClick={() => setDialog("password")}>
            Choose your own
          </button>{" "}
          <button type="button" class="link" onClick={() => (passwordOffer.value = null)}>
            Not now
          </button>
        </section>
      )}
      <nav class="sidebar" aria-label="Conversations">
        <div class="new-buttons">
          <button type="button" onClick={() => setDialog("direct")}>
            New message
          </button>
          <button type="button" class="secondary" onClick={() => setDialog("group")}>
            New group
          </button>
          <button type="button" class="secondary" onClick={() => setDialog("room")}>
            New room
          </button>
        </div>
        <label class="field search">
          <span>Search messages on this device</span>
          <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        {query ? (
          <ul class="results" aria-label="Search results">
            {found.length === 0 && <li class="muted">No messages on this device match.</li>}
            {found.map((m) => {
              const c = conversations.value.find((x) => x.id === m.conversationId);
              return (
                <li key={m.id}>
                  <button
                    type="button"
                    class="result"
                    onClick={() => {
                      setQuery("");
                      openConversation(m.conversationId);
                    }}
                  >
                    <strong>{c ? conversationTitle(c) : "Conversation"}</strong> · {nameOf(m.senderUserId)} · {clock(m.sentAt)}
                    <span class="snippet">{m.text}</span>
                  </button>
                </li>
              );
            })}
          </ul>
        ) : (
          <ul class="conversations">
            {sortedConversations.value.length === 0 && <li class="muted">No conversations yet.</li>}
            {sortedConversations.value.map((c) => {
              const other = c.kind === "direct" ? c.members.find((m) => m.userId !== me.value?.userId) : undefined;
              const status = other ? presence.value[other.userId] : undefined;
              return (
                <li key={c.id}>
                  <button type="button" class={`conv ${open?.id === c.id ? "active" : ""}`} aria-current={open?.id === c.id ? "true" : undefined} onClick={() => openConversation(c.id)}>
                    <span class="conv-title">
                      {c.pinned && (
                        <span>
                          <span aria-hidden="true">📌 </span>
                          <span class="sr-only">Pinned: </span>
                        </span>
                      )}
                      {conversationTitle(c)}
                      {status && <span class={`presence ${status}`}> · {status}</span>}
                    </span>
                    <span class="conv-kind">{c.kind === "direct" ? "Direct" : c.kind === "group" ? "Group" : "Room"}</span>
                    {c.unread > 0 && (
                      <span class="badge">
                        {c.unread}
                        <span class="sr-only"> unread</span>
                      </span>
                    )}
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </nav>
      <main class="pane" aria-label={open ? conversationTitle(open) : "No conversation open"}>
        {open ? (
          <ConversationPane key={open.id} conversation={open} />
        ) : (
          <div class="center muted">
            <p>Choose a conversation or start a new one.</p>
          </div>
        )}
      </main>
      {dialog === "settings" && <SettingsDialog onClose={() => setDialog(null)} />}
      {dialog === "password" && passwordOffer.value !== null && (
        <PasswordOffer
          given={passwordOffer.value}
          onClose={() => {
            setDialog(null);
            passwordOffer.value = null;
          }}
          onDone={() => (notice.value = "Your password was changed. It now also opens this browser's vault.")}
        />
      )}
      {(dialog === "direct" || dialog === "group" || dialog === "room") && <NewConversation kind={dialog} onClose={() => setDialog(null)} />}
    </div>
  );
}

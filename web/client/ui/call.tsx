/** @jsxImportSource preact */
// Call controls of a conversation: Call / Join, and while in a call its bar (state,
// who else is in it, mute, leave). The call itself lives in ../calls.ts.
import { useEffect, useState } from "preact/hooks";
import { activeCall, joinCall, leaveCall, ringing, setMuted, startCall } from "../calls.ts";
import { connected, conversations, conversationTitle, me, nameOf, sdk, type Conversation } from "../store.ts";
import { errorMessage } from "./common.tsx";

export function CallButton(props: { conversation: Conversation }) {
  const c = props.conversation;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (activeCall.value) return null;
  const incoming = ringing.value[c.id];
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      if (incoming) await joinCall(incoming);
      else await startCall(c.id);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class="small" disabled={busy || !connected.value} onClick={() => void go()}>
        {incoming ? "Join call" : "Call"}
      </button>
      {error && (
        <p class="error" role="alert">
          Call: {error}
        </p>
      )}
    </>
  );
}

/** Shown above every open conversation while in a call, so the call's controls never go out of reach. */
export function CallBar() {
  const call = activeCall.value;
  const conv = conversations.value.find((c) => c.id === call?.conversationId);
  const [names, setNames] = useState<Record<string, string>>({});
  const others = call?.others.join(",") ?? "";
  // Participants are devices: their users' names come from the directory.
  useEffect(() => {
    if (!call || !conv?.members.length) return;
    let live = true;
    void sdk()
      .lookupUsers({ userIds: conv.members.map((m) => m.userId) })
      .then((users) => {
        const map: Record<string, string> = {};
        for (const u of users) for (const d of u.devices) map[d.deviceId] = u.userId === me.value?.userId ? `${u.username} (other device)` : nameOf(u.userId);
        if (live) setNames(map);
      })
      .catch(() => undefined);
    return () => void (live = false);
  }, [others, conv?.id]);
  if (!call) return null;
  return (
    <section class="call-bar" aria-label="Call">
      <p role="status">{call.state === "joining" ? "Joining call…" : `In call${conv ? ` (${conversationTitle(conv)})` : ""} · ${call.others.length + 1} in the call`}</p>
      <ul aria-label="In the call">
        <li>You{call.muted ? " (muted)" : ""}</li>
        {call.others.map((id) => (
          <li key={id}>{names[id] ?? "Someone"}</li>
        ))}
      </ul>
      <button type="button" class="secondary small" aria-pressed={call.muted} onClick={() => setMuted(!call.muted)}>
        {call.muted ? "Unmute" : "Mute"}
      </button>
      <button type="button" class="small" onClick={() => void leaveCall()}>
        Leave call
      </button>
    </section>
  );
}

/** @jsxImportSource preact */
// Call controls of a conversation: Call / Join, and while in a call its bar (state,
// who else is in it, mute, camera, screen sharing, leave) and its pictures (camera tiles,
// a shared screen shown large). The call itself lives in ../calls.ts.
import { useEffect, useRef, useState } from "preact/hooks";
import { activeCall, callMedia, joinCall, leaveCall, ringing, setCamera, setMuted, setSharing, startCall, type CallView } from "../calls.ts";
import { connected, conversations, conversationTitle, me, nameOf, sdk, type Conversation } from "../store.ts";
import { errorMessage } from "./common.tsx";

export function CallButton(props: { conversation: Conversation }) {
  const c = props.conversation;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (activeCall.value) return null;
  const incoming = ringing.value[c.id];
  const go = async (video: boolean) => {
    setBusy(true);
    setError(null);
    try {
      if (incoming) await joinCall(incoming);
      else await startCall(c.id);
      // With video: the camera goes on once in the call, where the grant allows it (the bar says why not).
      if (video && activeCall.value?.videoAllowed) await setCamera(true);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class="small" disabled={busy || !connected.value} onClick={() => void go(false)}>
        {incoming ? "Join call" : "Call"}
      </button>
      <button type="button" class="small secondary" disabled={busy || !connected.value} onClick={() => void go(true)}>
        {incoming ? "Join with video" : "Video call"}
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
  const [error, setError] = useState<string | null>(null);
  if (!call) return null;
  const run = (action: () => Promise<void>) => {
    setError(null);
    action().catch((e) => setError(errorMessage(e)));
  };
  const noVideo = call.state === "connected" && !call.videoAllowed;
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
      <button type="button" class="secondary small" aria-pressed={call.camera} disabled={call.state !== "connected" || noVideo} aria-describedby={noVideo ? "call-video-off" : undefined} onClick={() => run(() => setCamera(!call.camera))}>
        Camera
      </button>
      <button type="button" class="secondary small" aria-pressed={call.sharing} disabled={call.state !== "connected" || noVideo} aria-describedby={noVideo ? "call-video-off" : undefined} onClick={() => run(() => setSharing(!call.sharing))}>
        {call.sharing ? "Stop sharing" : "Share screen"}
      </button>
      <button type="button" class="small" onClick={() => void leaveCall()}>
        Leave call
      </button>
      {noVideo && (
        <p class="call-note" id="call-video-off">
          Camera and screen sharing are off for your security group (calling.video).
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <CallPictures call={call} names={names} />
    </section>
  );
}

/** Camera tiles (remote ones labelled with their participant's name, the local preview muted) and the shared screen, large. */
function CallPictures(props: { call: CallView; names: Record<string, string> }) {
  const { call, names } = props;
  const media = callMedia.value;
  const live = new Set(call.live);
  const shown = call.slots.filter((s) => s.participantId && live.has(s.mid) && media.remote[s.mid]);
  const screen = shown.find((s) => s.kind === "screen");
  const cameras = shown.filter((s) => s.kind === "video");
  if (!screen && cameras.length === 0 && !media.preview) return null;
  const name = (id: string | null) => (id && names[id]) ?? "Someone";
  return (
    <div class="call-pictures">
      {screen && (
        <figure class="call-screen">
          <Video stream={media.remote[screen.mid]!} label={`Screen shared by ${name(screen.participantId)}`} />
          <figcaption>{name(screen.participantId)} is sharing their screen</figcaption>
        </figure>
      )}
      <div class="call-tiles" role="group" aria-label="Cameras">
        {cameras.map((s) => (
          <figure key={s.mid}>
            <Video stream={media.remote[s.mid]!} label={`Camera of ${name(s.participantId)}`} />
            <figcaption>{name(s.participantId)}</figcaption>
          </figure>
        ))}
        {media.preview && (
          <figure>
            <Video stream={media.preview} label="Your camera" mirrored />
            <figcaption>You</figcaption>
          </figure>
        )}
      </div>
    </div>
  );
}

/** A muted, inline, autoplaying picture (sound comes through the call's own audio elements). */
function Video(props: { stream: MediaStream; label: string; mirrored?: boolean }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const v = ref.current;
    if (v && v.srcObject !== props.stream) {
      v.srcObject = props.stream;
      void v.play().catch(() => undefined);
    }
  }, [props.stream]);
  return <video ref={ref} class={props.mirrored ? "mirrored" : undefined} aria-label={props.label} autoplay playsInline muted />;
}

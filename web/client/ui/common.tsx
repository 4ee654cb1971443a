/** @jsxImportSource preact */
// Small shared pieces: modal dialogs (native <dialog>: focus trap and Escape for free),
// error text, and time formatting.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} class="modal" aria-labelledby="modal-title" onClose={props.onClose} onCancel={props.onClose}>
      <div class="modal-head">
        <h2 id="modal-title">{props.title}</h2>
        <button type="button" class="icon" aria-label="Close" onClick={props.onClose}>
          ×
        </button>
      </div>
      {props.children}
    </dialog>
  );
}

export function ErrorText(props: { error: string | null }) {
  return props.error ? (
    <p class="error" role="alert">
      {props.error}
    </p>
  ) : null;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function duration(seconds: number): string {
  if (seconds <= 0) return "off";
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min${seconds % 60 ? ` ${seconds % 60} s` : ""}`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h${seconds % 3600 >= 60 ? ` ${Math.floor((seconds % 3600) / 60)} min` : ""}`;
  return `${Math.floor(seconds / 86400)} d`;
}

export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export const TIMER_CHOICES: [number, string][] = [
  [0, "Off"],
  [10, "10 seconds"],
  [60, "1 minute"],
  [300, "5 minutes"],
  [3600, "1 hour"],
  [86400, "1 day"],
  [604800, "1 week"],
];

export function fileSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/**
 * Why the security group refuses this upload, said before anything is encrypted or sent (the
 * server refuses it anyway); null when it may go.
 */
export function uploadRefusal(f: File, policy: { attachments: boolean; maxUploadBytes: number } | undefined): string | null {
  if (!policy) return null;
  if (!policy.attachments) return "Attachments are switched off for your security group.";
  if (f.size > policy.maxUploadBytes) return `${f.name} is ${fileSize(f.size)}; your security group allows files of at most ${fileSize(policy.maxUploadBytes)}.`;
  return null;
}

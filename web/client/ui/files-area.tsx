/** @jsxImportSource preact */
// A room's Files area (when the network's file management is on): members browse folders
// and download (decrypted and verified in the browser); moderators also upload, create
// folders, rename and delete. Entry names are visible to the server, contents are not. A file
// whose key this device lacks (added before it joined) is asked for from the room's members.
import { useEffect, useRef, useState } from "preact/hooks";
import { deleteRoomEntry, downloadRoomFile, listRoomEntries, me, newRoomFolder, policy, renameRoomEntry, requestRoomKeys, roomFiles, uploadToRoom, type Conversation, type RoomFileEntry } from "../store.ts";
import { ErrorText, errorMessage, fileSize, Modal, uploadRefusal } from "./common.tsx";

export function FilesArea(props: { conversation: Conversation; onClose: () => void }) {
  const c = props.conversation;
  const moderator = c.members.some((m) => m.userId === me.value?.userId && m.role === "moderator");
  const [path, setPath] = useState<RoomFileEntry[]>([]);
  const [items, setItems] = useState<RoomFileEntry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<{ label: string; value: number } | null>(null);
  const [saved, setSaved] = useState<{ url: string; name: string } | null>(null);
  const link = useRef<HTMLAnchorElement>(null);
  const parentId = path.at(-1)?.id ?? null;

  async function load(after?: string) {
    setError(null);
    try {
      const page = await listRoomEntries(c.id, parentId, after);
      setItems((prev) => (after && prev ? [...prev, ...page.items] : page.items));
      setNext(page.next);
      requestRoomKeys(c.id, page.items);
    } catch (e) {
      setError(errorMessage(e));
    }
  }
  useEffect(() => void load(), [parentId]);
  useEffect(() => {
    if (saved) link.current?.click();
    return () => saved && URL.revokeObjectURL(saved.url);
  }, [saved]);

  const act = (fn: () => Promise<unknown>) => async () => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setProgress(null);
    }
  };
  async function download(entry: RoomFileEntry) {
    setError(null);
    setProgress({ label: `Downloading ${entry.name}`, value: 0 });
    try {
      const blob = await downloadRoomFile(entry, (value) => setProgress({ label: `Downloading ${entry.name}`, value }));
      setSaved({ url: URL.createObjectURL(blob), name: entry.name });
    } catch (e) {
      setError(`Download failed: ${errorMessage(e)}`);
    } finally {
      setProgress(null);
    }
  }

  return (
    <Modal title="Files" onClose={props.onClose}>
      <nav aria-label="Folder path" class="row">
        <button type="button" class="small secondary" disabled={path.length === 0} onClick={() => setPath([])}>
          Files area
        </button>
        {path.map((f, i) => (
          <button type="button" class="small secondary" key={f.id} disabled={i === path.length - 1} onClick={() => setPath(path.slice(0, i + 1))}>
            / {f.name}
          </button>
        ))}
      </nav>
      {moderator && (
        <div class="row">
          <label class="button secondary">
            Upload
            <input
              type="file"
              class="sr-only"
              aria-label="Upload a file to this folder"
              onChange={(e) => {
                const input = e.currentTarget as HTMLInputElement;
                const f = input.files?.[0];
                input.value = "";
                if (!f) return;
                const refused = uploadRefusal(f, policy.value);
                if (refused) return setError(refused);
                void act(() => uploadToRoom(c.id, f, parentId, (value) => setProgress({ label: `Uploading ${f.name}`, value })))();
              }}
            />
          </label>
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              const form = e.currentTarget as HTMLFormElement;
              const name = String(new FormData(form).get("folder") ?? "").trim();
              if (name) void act(() => newRoomFolder(c.id, name, parentId).then(() => form.reset()))();
            }}
          >
            <label class="field">
              <span class="sr-only">New folder name</span>
              <input name="folder" placeholder="New folder name" required maxLength={200} />
            </label>
            <button type="submit" class="small">
              New folder
            </button>
          </form>
        </div>
      )}
      {progress && <progress max={1} value={progress.value} aria-label={progress.label} />}
      {saved && (
        <a ref={link} href={saved.url} download={saved.name}>
          Save {saved.name} again
        </a>
      )}
      <ErrorText error={error} />
      {items === null ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">This folder is empty.</p>
      ) : (
        <ul class="files-area" aria-label="Files and folders">
          {items.map((entry) => (
            <EntryRow key={entry.id} entry={entry} moderator={moderator} onOpen={() => setPath([...path, entry])} onDownload={() => void download(entry)} onRename={(name) => act(() => renameRoomEntry(c.id, entry.id, name))()} onDelete={() => act(() => deleteRoomEntry(c.id, entry.id))()} />
          ))}
        </ul>
      )}
      {next && (
        <button type="button" class="small secondary" onClick={() => void load(next)}>
          Show more
        </button>
      )}
    </Modal>
  );
}

function EntryRow(props: { entry: RoomFileEntry; moderator: boolean; onOpen: () => void; onDownload: () => void; onRename: (name: string) => Promise<void>; onDelete: () => Promise<void> }) {
  const e = props.entry;
  const [renaming, setRenaming] = useState(false);
  const waiting = e.kind === "file" && !roomFiles.value[e.id];
  return (
    <li class="row" data-entry={e.name}>
      {renaming ? (
        <form
          class="row"
          onSubmit={(ev) => {
            ev.preventDefault();
            const name = String(new FormData(ev.currentTarget as HTMLFormElement).get("name") ?? "").trim();
            if (name) void props.onRename(name).then(() => setRenaming(false));
          }}
        >
          <label class="field">
            <span class="sr-only">New name for {e.name}</span>
            <input name="name" defaultValue={e.name} required maxLength={200} autoFocus />
          </label>
          <button type="submit" class="small">
            Save name
          </button>
          <button type="button" class="small secondary" onClick={() => setRenaming(false)}>
            Cancel
          </button>
        </form>
      ) : e.kind === "folder" ? (
        <button type="button" class="small secondary" onClick={props.onOpen}>
          📁 {e.name}
        </button>
      ) : (
        <span>
          <span class="file-name">{e.name}</span> <span class="muted">({fileSize(e.size)})</span>{" "}
          <button type="button" class="small secondary" aria-label={`Download ${e.name}`} disabled={waiting} onClick={props.onDownload}>
            Download
          </button>
          {waiting && (
            <span class="muted" role="status">
              {" "}
              Waiting for the key from a room member…
            </span>
          )}
        </span>
      )}
      {props.moderator && !renaming && (
        <span>
          <button type="button" class="small secondary" aria-label={`Rename ${e.name}`} onClick={() => setRenaming(true)}>
            Rename
          </button>{" "}
          <button
            type="button"
            class="small danger"
            aria-label={`Delete ${e.name}`}
            onClick={() => {
              if (confirm(e.kind === "folder" ? `Delete the folder ${e.name} and everything in it?` : `Delete ${e.name}?`)) void props.onDelete();
            }}
          >
            Delete
          </button>
        </span>
      )}
    </li>
  );
}

/** @jsxImportSource preact */
// Onboarding: open a client configuration (file or landing link), sign in and register
// this browser as a device (a further device of the same user needs a sync code), and
// the unlock screen for a device that already holds an encrypted vault.
import { useEffect, useState } from "preact/hooks";
import { OutpostError, type ClientConfig } from "../../../src/client/api.ts";
import { configFromFragment, isEncryptedConfig, loadClientConfig, sameServer } from "../config.ts";
import { forgetDevice, register, unlock } from "../store.ts";
import { WrongPassword, Vault } from "../vault.ts";
import { onboardingNotice, WrongUnlockPassword } from "../security.ts";
import { ErrorText, errorMessage } from "./common.tsx";

export function Onboarding() {
  const [config, setConfig] = useState<ClientConfig | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A password-protected file waits here until its password is entered.
  const [locked, setLocked] = useState<Uint8Array | null>(null);
  const [opening, setOpening] = useState(false);

  async function accept(bytes: Uint8Array, password?: string) {
    setError(null);
    if (!password && isEncryptedConfig(bytes)) {
      setLocked(bytes);
      return;
    }
    setOpening(true);
    try {
      const c = await loadClientConfig(bytes, password);
      if (!sameServer(c, location.origin)) throw new Error(`this configuration is for ${c.serviceUrl}: open Outpost at that address`);
      setLocked(null);
      setConfig(c);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setOpening(false);
    }
  }

  useEffect(() => {
    const fromLink = configFromFragment(location.hash);
    if (fromLink) {
      // The fragment never reaches a server; drop it from the address bar and history too.
      history.replaceState(null, "", location.pathname);
      void accept(fromLink);
    }
  }, []);

  return (
    <main class="center onboarding">
      <div class="card">
        <h1>Outpost</h1>
        {onboardingNotice.value && (
          <p class="error" role="alert">
            {onboardingNotice.value}
          </p>
        )}
        {config ? (
          <SignIn config={config} onBack={() => setConfig(null)} />
        ) : (
          <section aria-labelledby="cfg-title">
            <h2 id="cfg-title">Open your client configuration</h2>
            <p>Your administrator gave you a client configuration file or a link. Choose the file to begin.</p>
            <label class="field">
              <span>Client configuration file</span>
              <input
                type="file"
                accept=".json,.outpost,application/json"
                onChange={async (e) => {
                  const f = (e.currentTarget as HTMLInputElement).files?.[0];
                  setLocked(null);
                  if (f) await accept(new Uint8Array(await f.arrayBuffer()));
                }}
              />
            </label>
            {locked && (
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  void accept(locked, String(new FormData(e.currentTarget as HTMLFormElement).get("configPassword") ?? ""));
                }}
              >
                <p>This configuration is protected by a password. Your administrator gave it to you with the file.</p>
                <label class="field">
                  <span>Configuration password</span>
                  <input name="configPassword" type="password" autoComplete="off" required autoFocus />
                </label>
                <button type="submit" disabled={opening}>
                  {opening ? "Opening…" : "Open configuration"}
                </button>
              </form>
            )}
            <ErrorText error={error} />
          </section>
        )}
      </div>
    </main>
  );
}

function SignIn(props: { config: ClientConfig; onBack: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [needSync, setNeedSync] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      await register(props.config, String(f.get("username")), String(f.get("password")), needSync ? String(f.get("sync") ?? "").trim() : undefined);
    } catch (err) {
      if (err instanceof OutpostError && err.code === "sync_required") {
        setNeedSync(true);
        setError("You already use Outpost on another device. On that device open Settings → Add a device, and enter the code it shows.");
      } else setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} aria-labelledby="signin-title">
      <h2 id="signin-title">Sign in</h2>
      <p class="muted">Network {props.config.networkId.slice(0, 8)}… at {props.config.serviceUrl}</p>
      <label class="field">
        <span>Username</span>
        <input name="username" autoComplete="username" required autoFocus />
      </label>
      <label class="field">
        <span>Password</span>
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      {needSync && (
        <label class="field">
          <span>Sync code from your other device</span>
          <input name="sync" autoComplete="one-time-code" required />
        </label>
      )}
      <p class="muted">Your password also encrypts the keys and messages this browser keeps.</p>
      <ErrorText error={error} />
      <div class="row">
        <button type="button" class="secondary" onClick={props.onBack}>
          Back
        </button>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </div>
    </form>
  );
}

export function Unlock() {
  const [username, setUsername] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void Vault.existing().then((u) => setUsername(u ?? ""));
  }, []);
  async function submit(e: Event) {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      await unlock(String(f.get("password")));
    } catch (err) {
      if (err instanceof WrongUnlockPassword && err.triesLeft !== null)
        setError(`That password does not open this device's vault. ${err.triesLeft} more wrong ${err.triesLeft === 1 ? "try erases" : "tries erase"} this browser's Outpost keys and messages.`);
      else setError(err instanceof WrongPassword ? "That password does not open this device's vault." : errorMessage(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="center">
      <form class="card" onSubmit={submit} aria-labelledby="unlock-title">
        <h1 id="unlock-title">Unlock Outpost</h1>
        <p>Signed in as {username || "…"} on this device.</p>
        <input type="text" name="username" autoComplete="username" value={username} hidden readOnly />
        <label class="field">
          <span>Password</span>
          <input name="password" type="password" autoComplete="current-password" required autoFocus />
        </label>
        <ErrorText error={error} />
        <div class="row">
          <button
            type="button"
            class="secondary"
            onClick={() => {
              if (confirm("Remove this account, its keys and its messages from this browser?")) void forgetDevice();
            }}
          >
            Use another account
          </button>
          <button type="submit" disabled={busy}>
            {busy ? "Unlocking…" : "Unlock"}
          </button>
        </div>
      </form>
    </main>
  );
}

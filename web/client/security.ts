// Security-group settings the browser itself enforces: asking for the password again when
// the app comes back to the foreground (alwaysReauthenticate), and erasing this browser's
// keys and history after too many wrong unlock passwords in a row (deviceResetAfter).
import { signal } from "@preact/signals";
import type { ClientPolicy } from "../../src/client/client.ts";
import { Vault, WrongPassword } from "./vault.ts";

// Neither value is secret, and both are needed while the vault is still locked.
const RESET_AFTER = "outpost.deviceResetAfter";
const FAILED = "outpost.failedUnlocks";

/** Shown on the onboarding screen after this browser's device was erased. */
export const onboardingNotice = signal<string | null>(null);

export class DeviceErased extends Error {}

/** A wrong password, with how many more are allowed before the device is erased (null: no limit). */
export class WrongUnlockPassword extends WrongPassword {
  constructor(readonly triesLeft: number | null) {
    super("wrong password");
  }
}

/** Keeps the policy values the locked app needs. */
export function rememberPolicy(p: ClientPolicy | undefined) {
  if (p) localStorage.setItem(RESET_AFTER, String(p.deviceResetAfter));
}

/** The wrong-password limit last heard from the server (0 when never). */
export function keptDeviceResetAfter(): number {
  return Number(localStorage.getItem(RESET_AFTER) ?? 0);
}

/** Opens the vault, counting wrong passwords; the last allowed one erases the device. */
export async function unlockCounted(password: string): Promise<Vault> {
  try {
    const v = await Vault.unlock(password);
    localStorage.removeItem(FAILED);
    return v;
  } catch (e) {
    if (!(e instanceof WrongPassword)) throw e;
    const limit = keptDeviceResetAfter();
    const failed = Number(localStorage.getItem(FAILED) ?? 0) + 1;
    if (limit > 0 && failed >= limit) {
      await Vault.erase();
      localStorage.removeItem(FAILED);
      const message = `${failed} wrong passwords in a row: as your security group requires, this browser's Outpost keys and messages were erased. Sign in again (a further device of yours needs a sync code from another one).`;
      onboardingNotice.value = message;
      throw new DeviceErased(message);
    }
    localStorage.setItem(FAILED, String(failed));
    throw new WrongUnlockPassword(limit > 0 ? limit - failed : null);
  }
}

/**
 * Locks the app when it comes back to the foreground, if the policy asks for it. Returns
 * the function that stops watching (called when the app locks or signs out).
 */
export function watchForeground(policy: () => ClientPolicy | undefined, lock: () => void): () => void {
  let wentAway = false;
  const onChange = () => {
    if (document.visibilityState === "hidden") wentAway = true;
    else if (wentAway && policy()?.alwaysReauthenticate) lock();
  };
  document.addEventListener("visibilitychange", onChange);
  return () => document.removeEventListener("visibilitychange", onChange);
}

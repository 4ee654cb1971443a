// The relay's per-server memory: connected device sessions and the caches the hot path
// checks (conversation membership and member devices, compliance devices). Services that
// change those facts call the hooks here so the caches never serve stale answers.
import type { AppContext } from "../app/context.ts";

export interface SessionLike {
  readonly deviceId: string;
  readonly userId: string;
  /** A committed packet for this device: send from memory if caught up, else read the log. */
  offer(seq: number, shared: Uint8Array, wrap: Uint8Array, burnOnRead: boolean, directed: boolean): void;
  sendControl(message: Record<string, unknown>): void;
  close(code: number, reason: string): void;
}

export interface ConversationInfo {
  networkId: string;
  kind: "direct" | "group" | "room";
  members: Set<string>;
  /** Every active device of every member: the devices a packet may carry wraps for. */
  deviceOwners: Map<string, string>;
}

export class RelayState {
  readonly sessions = new Map<string, SessionLike>();
  readonly conversations = new Map<string, ConversationInfo>();
  readonly compliance = new Map<string, string | null>();
  /**
   * Audiences that may receive a packet meant for only some member devices (for example a
   * call's media key, which goes to the devices in the call). Each returns true when every
   * listed device belongs to such an audience of the conversation that includes the sender.
   */
  readonly directedAudiences: ((conversationId: string, senderDeviceId: string, deviceIds: string[]) => boolean)[] = [];
  /** Times a device's socket was too full and delivery paused until Bun's drain callback. */
  readonly stats = { backpressurePauses: 0 };

  devicesChanged(_userId: string, revokedDeviceIds: string[] = []) {
    // Device sets appear in every conversation of the user; rebuilding lazily is cheap.
    this.conversations.clear();
    for (const id of revokedDeviceIds) this.sessions.get(id)?.close(4001, "this device was reset");
  }

  membersChanged(conversationId: string) {
    this.conversations.delete(conversationId);
  }

  complianceChanged(networkId: string) {
    this.compliance.delete(networkId);
    this.conversations.clear();
  }

  isDirectedAudience(conversationId: string, senderDeviceId: string, deviceIds: string[]): boolean {
    return this.directedAudiences.some((audience) => audience(conversationId, senderDeviceId, deviceIds));
  }

  userSuspended(userId: string) {
    for (const s of [...this.sessions.values()]) if (s.userId === userId) s.close(4403, "this account is suspended");
  }
}

const states = new WeakMap<AppContext, RelayState>();

export function relayHooks(ctx: AppContext): RelayState {
  let s = states.get(ctx);
  if (!s) states.set(ctx, (s = new RelayState()));
  return s;
}

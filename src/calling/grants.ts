// From a user's security group to a join grant: the calling switches (audio, video,
// force-TCP) travel in the grant and the node enforces them when the participant joins.
import type { SecurityGroupSettings } from "../modules/security-groups/settings.ts";
import type { JoinGrantInput } from "./signalling.ts";

export function joinGrantFor(
  calling: SecurityGroupSettings["calling"],
  req: { callId: string; participantId: string; mode?: "call" | "broadcast"; role?: "sender" | "listener"; ttlSeconds?: number },
): JoinGrantInput {
  return {
    callId: req.callId,
    participantId: req.participantId,
    // Screen sharing is video: a group without video does not share screens either.
    kinds: { audio: calling.audio, video: calling.video, screen: calling.video },
    forceTcp: calling.forceTcp,
    mode: req.mode ?? "call",
    role: req.role ?? "sender",
    ...(req.ttlSeconds ? { ttlSeconds: req.ttlSeconds } : {}),
  };
}

// Lets the relay carry a room's file keys to one member's devices only: a moderator hands the
// keys of the Files area to a member just added, and a member answers a key request from one
// device (src/client/room-keys.ts). The relay cannot see what a packet holds, so the rule is
// the audience: in a room whose network has file management on, all recipients (the
// compliance device aside) are devices of one member other than the sender.
import type { AppContext } from "../../app/context.ts";
import { relayHooks } from "../../relay/hooks.ts";
import { packetStore } from "../../relay/store.ts";
import { getNetwork } from "../networks/networks.service.ts";

const registered = new WeakSet<AppContext>();

export function allowRoomKeyDelivery(ctx: AppContext) {
  if (registered.has(ctx)) return;
  registered.add(ctx);
  relayHooks(ctx).directedAudiences.push((conversationId, senderDeviceId, deviceIds) => {
    if (deviceIds.length === 0) return false;
    const conv = packetStore(ctx).conversationInfo(conversationId);
    if (!conv || conv.kind !== "room") return false;
    const owner = conv.deviceOwners.get(deviceIds[0]!);
    if (!owner || owner === conv.deviceOwners.get(senderDeviceId)) return false;
    if (!deviceIds.every((d) => conv.deviceOwners.get(d) === owner)) return false;
    return getNetwork(ctx, conv.networkId).fileManagement;
  });
}

// Shared setup for the protocol tests: users with root keys, certified devices and a few
// signed prekeys each, and helpers to seal and open between them. Not used by production code.

import { createDevice, createPrekeys, generateRootKey, type Device, type PrekeyPrivate } from "./keys.ts";
import { openPacket, sealPacket, type Recipient } from "./packet.ts";
import { MessageType } from "./payload.ts";
import { systemRandom, type RandomSource } from "./bytes.ts";
import type { KeyPair, SuiteId } from "./suites.ts";

export interface TestDevice extends Device {
  root: KeyPair;
  prekeys: Uint8Array[];
  secrets: PrekeyPrivate[];
}

export async function makeDevice(suite: SuiteId, userId: string, deviceId: string, root?: KeyPair, random: RandomSource = systemRandom): Promise<TestDevice> {
  const rootKey = root ?? (await generateRootKey(suite, random));
  const device = await createDevice({ root: rootKey, userId, deviceId, createdAt: 1_700_000_000_000, random });
  const { published, secrets } = await createPrekeys({ device, count: 2, createdAt: 1_700_000_000_000, random });
  return { ...device, root: rootKey, prekeys: published, secrets };
}

export function recipientOf(device: TestDevice, prekeyIndex = 0): Recipient {
  return { deviceId: device.deviceId, deviceCert: device.certificate, prekey: device.prekeys[prekeyIndex]!, rootPublicKey: device.root.publicBytes };
}

export function senderOf(device: TestDevice) {
  return { ...device, rootPublicKey: device.root.publicBytes };
}

export async function sealText(from: TestDevice, to: TestDevice[], conversationId: string, text = "hello", random?: RandomSource) {
  return sealPacket({
    sender: senderOf(from),
    conversationId,
    payload: { type: MessageType.text, content: { text } },
    ttl: 3600,
    bor: 0,
    recipients: to.map((device) => recipientOf(device)),
    sentAt: 1_700_000_123_456,
    ...(random ? { random } : {}),
  });
}

export function openAs(device: TestDevice, packet: Uint8Array, from: TestDevice, overrides: Partial<Parameters<typeof openPacket>[0]> = {}) {
  return openPacket({
    packet,
    deviceId: device.deviceId,
    findPrekey: (id) => device.secrets.find((secret) => secret.id === id)?.keyPair,
    sender: { rootPublicKey: from.root.publicBytes, deviceCert: from.certificate },
    isReplay: () => false,
    ...overrides,
  });
}

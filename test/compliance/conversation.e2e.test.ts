// Retention end to end: a network's compliance writer provisioned through the service, a
// scripted conversation sent by real SDK clients through the relay, and the lines the bot
// wrote compared with golden expectations (ids and times normalised, key order kept).
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MessageType, OutpostError, type OutpostClient } from "../../src/client/index.ts";
import { formatShortTime } from "../../src/compliance/format.ts";
import { complianceSupervisor } from "../../src/compliance/supervisor.ts";
import { systemActor } from "../../src/modules/audit/audit.service.ts";
import { botStatePath, complianceWriterView, deleteComplianceWriter, provisionComplianceWriter } from "../../src/modules/compliance/compliance.service.ts";
import { startWorld, until, type World } from "../messaging/world.ts";
import { normalise, rawLines } from "./support.ts";

const GOLDEN = fileURLToPath(new URL("../../fixtures/compliance/golden/conversation.jsonl", import.meta.url));

let w: World;
let alice: OutpostClient, bob: OutpostClient, carol: OutpostClient;
let messagesDir: string;
let password: string;
beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob", "carol"]);
  const r = await provisionComplianceWriter(w.server.ctx, systemActor, w.networkId, {});
  password = r.password;
  messagesDir = r.writer.options.messagesDir;
  alice = await w.client("alice");
  bob = await w.client("bob");
  carol = await w.client("carol");
});
afterAll(() => w.close());

const lines = () => rawLines(messagesDir);

describe("compliance bot", () => {
  test("provisioning creates a bot user, a 0600 state file and the network's compliance device", async () => {
    const view = complianceWriterView(w.server.ctx, w.networkId);
    expect(view).toMatchObject({ botUsername: "compliancebot", mode: "local", paused: false });
    expect(view.deviceId).toBe(alice.policy?.complianceDeviceId);
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(statSync(botStatePath(w.server.ctx, w.networkId)).mode & 0o777).toBe(0o600);
    await until(() => complianceSupervisor(w.server.ctx).status(w.networkId)?.connected === true, "bot connected");
    await expect(provisionComplianceWriter(w.server.ctx, systemActor, w.networkId, {})).rejects.toMatchObject({ code: "conflict" });
  });

  test("a scripted conversation of every message type gives the golden retention lines", async () => {
    const dm = (await alice.openDirect({ username: "bob" })).id;
    await bob.openDirect({ userId: alice.userId });
    const t = await alice.sendText(dm, "hello bob, see https://example.org/a and (https://example.org/b).", { ttl: 3600 });
    await alice.edit(dm, t.packetId, "hello bob, edited");
    const r = await bob.sendText(dm, "reply to be recalled");
    await bob.deleteMessage(dm, r.packetId, { recall: true });
    const d = await alice.sendText(dm, "to delete on my devices only", { bor: 30 });
    // Own-devices-only messages still reach the compliance device.
    await alice.deleteMessage(dm, d.packetId, { recall: false });
    await alice.star(dm, t.packetId);
    await alice.pinConversation(dm);
    const loc = await alice.sendLocation(dm, { latitude: 48.8566, longitude: 2.3522, live: true });
    await alice.updateLiveLocation(dm, loc.packetId, { latitude: 48.857, longitude: 2.353 });
    await alice.sendVerification(dm, 1);
    await bob.sendVerification(dm, 3, "12345 67890 12345 67890 12345 67890 12345 67890 12345 67890 12345 67890");
    const room = await alice.createRoom({ title: "Ops", description: "operations", memberIds: [bob.userId], ttl: 86400 });
    await alice.sendText(room.id, "room text");
    await alice.changeMembers(room.id, { add: [carol.userId] });
    await alice.updateConversation(room.id, { title: "Ops 2", description: "ops", ttl: 7200, bor: 60 });
    await carol.leave(room.id);
    await alice.deleteRoom(room.id);
    // Files and calls have no SDK helpers yet: sent with the generic send() in the shapes the bot maps.
    await alice.send(dm, MessageType.file, { fileName: "report.pdf", fileId: "f-1", data: Buffer.from("%PDF-1.7 test").toString("base64url") });
    await alice.send(dm, MessageType.call, { status: 1, meetingId: 0, durationSeconds: 42, version: 2 });
    const expected = 20;
    await until(() => lines().length === expected, `${expected} retention lines`, 15_000);

    const got = normalise(lines());
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(GOLDEN, got.join("\n") + "\n");
    const golden = readFileSync(GOLDEN, "utf8").split("\n").filter(Boolean);
    expect(got).toEqual(golden);
    // Key order is part of the format: sorted at every depth.
    for (const l of lines()) expect(Object.keys(JSON.parse(l) as object)).toEqual(Object.keys(JSON.parse(l) as object).sort());
    // The file's bytes were saved and the line names them.
    const file = JSON.parse(lines()[18]!) as { file: { localfilename: string; filename: string } };
    expect(file.file.filename).toBe("report.pdf");
    expect(readFileSync(file.file.localfilename, "utf8")).toBe("%PDF-1.7 test");
    // ttl is the expiry moment: receive time plus the message's 3600 s.
    const firstLine = JSON.parse(lines()[0]!) as { msg_ts: string; ttl: string };
    expect(firstLine.ttl).toBe(formatShortTime(Math.floor(Number(firstLine.msg_ts) * 1000) + 3600_000));
    // msg_ts is the server's receive time, not the sender's clock: it matches the relay's log.
    const first = JSON.parse(lines()[0]!) as { msg_ts: string; message_id: string };
    const row = w.server.ctx.storage.readConns[0]!.query("select received_at as at from packets where packet_id = ?").get(first.message_id) as { at: number };
    expect(first.msg_ts).toBe(`${Math.floor(row.at / 1000)}.${String((row.at % 1000) * 1000).padStart(6, "0")}`);
  });

  test("the writer acknowledges its cursor: nothing stays queued for it once lines are written", async () => {
    await until(() => complianceWriterView(w.server.ctx, w.networkId).backlog === 0, "relay backlog empty", 5000);
    const view = complianceWriterView(w.server.ctx, w.networkId);
    expect(view).toMatchObject({ state: "running", backlog: 0, rejected: 0, connected: true });
    expect(view.linesWritten).toBe(lines().length);
    expect(view.bytesWritten).toBe(statSync(`${messagesDir}/receivedMessages.log`).size);
  });

  test("a client that omits the compliance device is refused by the relay", async () => {
    const dm = (await alice.openDirect({ username: "bob" })).id;
    const policy = alice.policy!;
    alice.policy = { ...policy, complianceDeviceId: null };
    try {
      // seal + sendPacket: the SDK's own send would refresh its policy and seal again.
      const { packet, packetId } = await alice.seal(dm, MessageType.text, { text: "not retained" });
      await expect(alice.sendPacket(packetId, packet)).rejects.toMatchObject({ code: "compliance_wrap_missing" });
      // With a stale policy (retention turned on after it connected) send() recovers by itself.
      const sent = await alice.sendText(dm, "retained after a policy refresh");
      expect(alice.policy?.complianceDeviceId).toBe(policy.complianceDeviceId);
      await until(() => lines().some((l) => l.includes(sent.packetId)), "the resent message is retained", 10_000);
    } finally {
      alice.policy = policy;
    }
  });

  test("deleting the writer lifts the requirement and removes the bot", async () => {
    const before = lines().length;
    await deleteComplianceWriter(w.server.ctx, systemActor, w.networkId);
    expect(complianceSupervisor(w.server.ctx).status(w.networkId)).toBeUndefined();
    await expect(Promise.resolve().then(() => complianceWriterView(w.server.ctx, w.networkId))).rejects.toMatchObject({ code: "not_found" });
    const dm = (await alice.openDirect({ username: "bob" })).id;
    // alice still names the deleted device: her send refreshes the policy and goes out without it.
    expect(alice.policy?.complianceDeviceId).not.toBeNull();
    const sent = await alice.sendText(dm, "after retention was turned off");
    expect(alice.policy?.complianceDeviceId).toBeNull();
    expect(sent.duplicate).toBe(false);
    expect(lines().length).toBe(before);
    const bot = w.server.ctx.storage.readConns[0]!.query("select count(*) as n from users where username = 'compliancebot'").get() as { n: number };
    expect(bot.n).toBe(0);
    await expect(alice.openDirect({ username: "compliancebot" })).rejects.toBeInstanceOf(OutpostError);
  });
});

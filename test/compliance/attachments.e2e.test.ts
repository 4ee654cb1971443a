// A file sent with the SDK reaches retention as a 6000 line whose attachment is the
// decrypted file itself, downloaded chunk by chunk by the compliance device (which is not a
// member of the conversation, but is a recipient of every message of its network).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { OutpostClient } from "../../src/client/index.ts";
import { files } from "../../src/client/files.ts";
import { ComplianceBot, saveBotState } from "../../src/compliance/bot.ts";
import { systemActor } from "../../src/modules/audit/audit.service.ts";
import { provisionComplianceWriter } from "../../src/modules/compliance/compliance.service.ts";
import { startWorld, until, type World } from "../messaging/world.ts";
import { tempDir } from "../support/server.ts";
import { readLines } from "./support.ts";

let w: World;
let bot: ComplianceBot;
const dir = tempDir("retention-files-");

beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob", "mallory", "dana", "eli"], { cheapHash: true });
  const { password } = await provisionComplianceWriter(w.server.ctx, systemActor, w.networkId, { mode: "remote", username: "filesbot" });
  const device = await OutpostClient.register({ config: { serviceUrl: w.server.url, networkId: w.networkId }, username: "filesbot", password, prekeyCount: 20 });
  await device.api.call("POST", "/api/client/v1/compliance/claim");
  saveBotState(join(dir, "state.json"), device.exportState());
  bot = await ComplianceBot.start({ statePath: join(dir, "state.json"), writer: { messagesDir: join(dir, "m"), attachmentsDir: join(dir, "a") } });
});
afterAll(async () => {
  await bot?.close();
  await w.close();
});

test("the retained attachment is the sent file, byte for byte, across many chunks", async () => {
  const alice = await w.client("alice");
  await w.client("bob");
  const dm = (await alice.openDirect({ username: "bob" })).id;
  const bytes = crypto.getRandomValues(new Uint8Array(300_000));
  const sent = await files(alice).sendFile(dm, { name: "field report.bin", bytes }, { chunkSize: 64 * 1024 });
  await until(() => readLines(join(dir, "m")).some((l) => l.message_id === sent.packetId), "the file message is retained", 20_000);
  const line = readLines(join(dir, "m")).find((l) => l.message_id === sent.packetId)! as { msgtype: number; file: { filename: string; guid: string; localfilename: string } };
  expect(line.msgtype).toBe(6000);
  expect(line.file.filename).toBe("field report.bin");
  expect(line.file.guid).toBe(sent.content.fileid);
  expect(line.file.localfilename).toMatch(/attachment_\d{17}_field report\.bin$/);
  expect(Buffer.from(readFileSync(line.file.localfilename)).equals(Buffer.from(bytes))).toBe(true);

  // A member of the network outside the conversation still cannot read the file.
  const mallory = await w.client("mallory");
  await expect(files(mallory).download(sent.content)).rejects.toMatchObject({ code: "not_found" });
}, 60_000);

test("a file put in a room's Files area is retained as a 4004 saved-file line with its key", async () => {
  const { updateNetwork } = await import("../../src/modules/networks/networks.service.ts");
  await updateNetwork(w.server.ctx, w.networkId, { fileManagement: true });
  const dana = await w.client("dana");
  const eli = await w.client("eli");
  const room = await dana.createRoom({ title: "Logistics", memberIds: [eli.userId] });
  const before = readLines(join(dir, "m")).length;
  const { entry, content } = await files(dana).uploadToRoom(room.id, { name: "manifest.csv", bytes: new TextEncoder().encode("crate,count\nwater,40\n") });
  await until(() => readLines(join(dir, "m")).slice(before).some((l) => l.msgtype === 4004), "the saved-file line is retained", 20_000);
  const line = readLines(join(dir, "m")).slice(before).find((l) => l.msgtype === 4004)! as { control: { changemask: number; filevaultinfo: { filehash: string; guid: string; key: string } } };
  expect(line.control.changemask).toBe(64);
  expect(line.control.filevaultinfo).toEqual({ filehash: content.sha256, guid: entry.id, key: Buffer.from(content.key, "base64url").toString("hex") });
}, 60_000);

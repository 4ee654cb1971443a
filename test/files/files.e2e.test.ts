// Encrypted file transfer end to end: a real server, real SDK clients, real blobs on disk.
// Sizes at the chunk edges, parallel download, resume after a broken upload, tampering,
// membership, the security group's size limit and attachment switch, and chunk lifecycle.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { files, fileContentOf, MessageType, OutpostClient, type FileContent, type FileProgress, type UploadHandle } from "../../src/client/index.ts";
import { blobStore } from "../../src/modules/files/blob-store.ts";
import { fileTimings, MAX_CHUNK_BODY, sweepFiles } from "../../src/modules/files/files.service.ts";
import { defaultSecurityGroup, updateSecurityGroupSettings } from "../../src/modules/security-groups/security-groups.service.ts";
import { tempDir } from "../support/server.ts";
import { inbox, PASSWORD, startWorld, until, type World } from "../messaging/world.ts";

let w: World;
let alice: OutpostClient, bob: OutpostClient, eve: OutpostClient;
let dm: string;
const KB = 1024;
const API = "/api/client/v1/files";

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  return out;
}

function blobCount(): number {
  const root = blobStore(w.server.ctx).root;
  return readdirSync(root)
    .filter((d) => d !== "tmp")
    .reduce((n, d) => n + readdirSync(join(root, d)).length, 0);
}

async function raw(c: OutpostClient, method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}) {
  const [device, token] = [c.deviceId, c.exportState().token];
  return fetch(`${w.server.url}${path}`, { method, body, headers: { authorization: `Bearer ${device}.${token}`, ...headers } });
}

async function setMessaging(patch: Record<string, unknown>) {
  const g = defaultSecurityGroup(w.server.ctx, w.networkId);
  await updateSecurityGroupSettings(w.server.ctx, w.networkId, g.id, { ...g.settings, messaging: { ...g.settings.messaging, ...patch } });
}

/** Sends from alice and returns what bob received in the 6000 message. */
async function sendAndReceive(bytes: Uint8Array, opts: { chunkSize?: number; ttl?: number } = {}) {
  const bobIn = inbox(bob);
  const sent = await files(alice).sendFile(dm, { name: "data.bin", bytes }, opts);
  await until(() => bobIn.some((m) => m.packetId === sent.packetId), "the 6000 message");
  const msg = bobIn.find((m) => m.packetId === sent.packetId)!;
  expect(msg.type).toBe(MessageType.file);
  return { sent, content: fileContentOf(msg.content) };
}

beforeAll(async () => {
  w = await startWorld();
  await w.addUsers(["alice", "bob", "eve"]);
  alice = await w.client("alice");
  bob = await w.client("bob");
  eve = await w.client("eve");
  dm = (await alice.openDirect({ userId: bob.userId })).id;
});
afterAll(() => w.close());

describe("send and receive", () => {
  test.each([
    ["0 bytes", 0, 4 * KB],
    ["1 byte", 1, 4 * KB],
    ["exactly one chunk", 4 * KB, 4 * KB],
    ["one chunk and a byte", 4 * KB + 1, 4 * KB],
    ["many chunks", 200 * KB + 17, 4 * KB],
  ])("%s arrive intact", async (_name, size, chunkSize) => {
    const bytes = random(size);
    const { content } = await sendAndReceive(bytes, { chunkSize });
    expect(content.size).toBe(size);
    expect(content.chunkhashes.length).toBe(Math.max(1, Math.ceil(size / chunkSize)));
    const progress: FileProgress[] = [];
    const got = await files(bob).download(content, { concurrency: 6, onProgress: (p) => progress.push(p) });
    expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
    expect(progress.at(-1)).toEqual({ phase: "download", done: size, total: size });
  });

  test("the server keeps only ciphertext: no stored chunk contains the plaintext", async () => {
    const bytes = new TextEncoder().encode("top secret plan ".repeat(300));
    const { content } = await sendAndReceive(bytes, { chunkSize: 4 * KB });
    const store = blobStore(w.server.ctx);
    const status = await raw(alice, "GET", `${API}/${content.fileid}/upload`).then((r) => r.json() as Promise<{ received: { hash: string }[] }>);
    for (const r of status.received) expect(readFileSync(store.pathOf(r.hash)).toString("latin1")).not.toContain("top secret");
  });

  test("files go from a path and a stream, at the default 4 MiB chunk size, and are saved to disk with progress", async () => {
    const dir = tempDir("outpost-files-");
    const bytes = random(9 * 1024 * KB + 5);
    writeFileSync(join(dir, "in.bin"), bytes);
    const up: FileProgress[] = [];
    const bobIn = inbox(bob);
    const fromPath = await files(alice).sendFile(dm, { name: "in.bin", path: join(dir, "in.bin") }, { onProgress: (p) => up.push(p) });
    expect(fromPath.content.chunkhashes.length).toBe(3);
    expect(up.at(-1)).toEqual({ phase: "upload", done: bytes.length, total: bytes.length });
    expect(up.length).toBeGreaterThan(3);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        // Odd-sized pieces: the SDK re-chunks them.
        for (let off = 0; off < bytes.length; off += 777_777) c.enqueue(bytes.slice(off, off + 777_777));
        c.close();
      },
    });
    const fromStream = await files(alice).sendFile(dm, { name: "s.bin", stream, size: bytes.length });
    await until(() => bobIn.some((m) => m.packetId === fromStream.packetId), "both messages");
    for (const [i, sent] of [fromPath, fromStream].entries()) {
      const content = fileContentOf(bobIn.find((m) => m.packetId === sent.packetId)!.content);
      expect(content.sha256).toBe(fromPath.content.sha256);
      await files(bob).saveFile(content, join(dir, `out${i}.bin`));
      expect(Buffer.from(readFileSync(join(dir, `out${i}.bin`))).equals(Buffer.from(bytes))).toBe(true);
    }
    const short = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(bytes.subarray(0, 10)), c.close()) });
    await expect(files(alice).sendFile(dm, { name: "short", stream: short, size: 11 })).rejects.toMatchObject({ code: "bad_source" });
  });

  test("a connection cut in the middle of a chunk is retried by sendFile itself", async () => {
    // A loopback TCP proxy that cuts the connection carrying the 300,000th byte, once.
    const target = new URL(w.server.url);
    let forwarded = 0;
    let cut = false;
    let cutRequest = "";
    type Pair = { upstream?: import("bun").Socket<unknown>; pending: Uint8Array[]; head: string };
    const proxy = Bun.listen<Pair>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(client) {
          client.data = { pending: [], head: "" };
          void Bun.connect<unknown>({
            hostname: target.hostname,
            port: Number(target.port),
            socket: {
              data: (_up, bytes) => void client.write(bytes),
              close: () => void client.end(),
              error: () => void client.end(),
            },
          }).then((up) => {
            client.data.upstream = up;
            for (const b of client.data.pending) up.write(b);
          });
        },
        data(client, bytes) {
          forwarded += bytes.length;
          // The start of the request this connection is carrying (keep-alive reuses connections).
          const text = new TextDecoder().decode(bytes.subarray(0, 100));
          if (/^(GET|PUT|POST|PATCH|DELETE) /.test(text)) client.data.head = text;
          if (!cut && forwarded > 300_000) {
            cut = true;
            cutRequest = client.data.head;
            client.data.upstream?.end();
            client.end();
            return;
          }
          if (client.data.upstream) client.data.upstream.write(bytes);
          else client.data.pending.push(new Uint8Array(bytes));
        },
        close: (client) => void client.data.upstream?.end(),
      },
    });
    try {
      await w.addUsers(["carol"]);
      const viaProxy = await OutpostClient.register({ config: { serviceUrl: `http://127.0.0.1:${proxy.port}`, networkId: w.networkId }, username: "carol", password: PASSWORD, prekeyCount: 5 });
      await viaProxy.connect();
      const carolDm = (await viaProxy.openDirect({ userId: bob.userId })).id;
      const bytes = random(600 * KB);
      const bobIn = inbox(bob);
      const sent = await files(viaProxy).sendFile(carolDm, { name: "cut.bin", bytes }, { chunkSize: 64 * KB, concurrency: 1 });
      expect(cutRequest).toMatch(/^PUT \/api\/client\/v1\/files\/[0-9a-f]{32}\/chunks\/\d+ /);
      await until(() => bobIn.some((m) => m.packetId === sent.packetId), "the message");
      expect(Buffer.from(await files(bob).download(sent.content)).equals(Buffer.from(bytes))).toBe(true);
      await viaProxy.close();
    } finally {
      proxy.stop(true);
    }
  });

  test("an interrupted upload resumes: only the missing chunks are sent again", async () => {
    const bytes = random(64 * KB);
    const abort = new AbortController();
    let handle: UploadHandle | undefined;
    let puts = 0;
    await expect(
      files(alice).sendFile(dm, { name: "r.bin", bytes }, {
        chunkSize: 1 * KB,
        concurrency: 1,
        signal: abort.signal,
        onUpload: (h) => (handle = h),
        onProgress: (p) => {
          if (p.done > 0 && ++puts === 20) abort.abort();
        },
      }),
    ).rejects.toThrow();
    const status = await raw(alice, "GET", `${API}/${handle!.fileId}/upload`).then((r) => r.json() as Promise<{ state: string; received: unknown[]; chunkCount: number }>);
    expect(status.state).toBe("uploading");
    expect(status.received.length).toBeGreaterThanOrEqual(20);
    expect(status.received.length).toBeLessThan(64);
    // The message cannot be sent while chunks are missing.
    expect((await raw(alice, "POST", `${API}/${handle!.fileId}/complete`)).status).toBe(409);
    const resumedFrom = status.received.length;
    let first: FileProgress | undefined;
    const bobIn = inbox(bob);
    const sent = await files(alice).sendFile(dm, { name: "r.bin", bytes }, { resume: handle!, onProgress: (p) => (first ??= p.done > 0 ? p : undefined) });
    expect(first!.done).toBe((resumedFrom + 1) * KB);
    await until(() => bobIn.some((m) => m.packetId === sent.packetId), "the message");
    const got = await files(bob).download(fileContentOf(bobIn.find((m) => m.packetId === sent.packetId)!.content));
    expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
    await expect(files(alice).upload(dm, { name: "x", bytes: bytes.subarray(1) }, { resume: handle! })).rejects.toMatchObject({ code: "bad_source" });
  });
});

describe("integrity", () => {
  test("a chunk altered on the server is detected, by its hash and by its authentication tag", async () => {
    const bytes = random(12 * KB);
    const { content } = await sendAndReceive(bytes, { chunkSize: 4 * KB });
    const path = blobStore(w.server.ctx).pathOf(content.chunkhashes[1]!);
    const original = readFileSync(path);
    const tampered = Buffer.from(original);
    tampered[40]! ^= 1;
    writeFileSync(path, tampered);
    const dir = tempDir("outpost-files-");
    await expect(files(bob).saveFile(content, join(dir, "t.bin"))).rejects.toMatchObject({ code: "integrity", message: "chunk 1 was altered" });
    expect(readdirSync(dir)).toEqual([]);
    // A server that could also change the message's hashes still fails the AEAD check.
    const forged: FileContent = { ...content, chunkhashes: content.chunkhashes.map((h, i) => (i === 1 ? new Bun.CryptoHasher("sha256").update(tampered).digest("hex") : h)) };
    await expect(files(bob).download(forged)).rejects.toMatchObject({ code: "integrity", message: expect.stringContaining("does not decrypt") });
    // Chunks swapped in place: each authenticates only at its own index.
    writeFileSync(path, readFileSync(blobStore(w.server.ctx).pathOf(content.chunkhashes[0]!)));
    const swapped: FileContent = { ...content, chunkhashes: [content.chunkhashes[0]!, content.chunkhashes[0]!, content.chunkhashes[2]!] };
    await expect(files(bob).download(swapped)).rejects.toMatchObject({ code: "integrity" });
    // A wrong whole-file hash in the message.
    writeFileSync(path, original);
    await expect(files(bob).download({ ...content, sha256: "00".repeat(32) })).rejects.toMatchObject({ code: "integrity", message: expect.stringContaining("SHA-256") });
    expect(Buffer.from(await files(bob).download(content)).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe("access and limits", () => {
  test("someone outside the conversation can neither download nor touch the upload", async () => {
    const { content } = await sendAndReceive(random(5 * KB), { chunkSize: 4 * KB });
    await expect(files(eve).download(content)).rejects.toMatchObject({ code: "not_found", status: 404 });
    expect((await raw(eve, "GET", `${API}/${content.fileid}/chunks/0`)).status).toBe(404);
    expect((await raw(eve, "GET", `${API}/${content.fileid}/upload`)).status).toBe(404);
    // bob may download but the upload session is alice's.
    expect((await raw(bob, "GET", `${API}/${content.fileid}/upload`)).status).toBe(404);
    expect((await raw(bob, "GET", `${API}/${content.fileid}/chunks/1`)).status).toBe(200);
    expect((await raw(bob, "GET", `${API}/${content.fileid}/chunks/2`)).status).toBe(400);
    // eve cannot attach the file to her own conversation, nor start an upload in alice's.
    const eveDm = (await eve.openDirect({ userId: alice.userId })).id;
    const ref = await raw(eve, "POST", `${API}/${content.fileid}/refs`, JSON.stringify({ conversationId: eveDm, packetId: "ab".repeat(16), ttl: 0 }), { "content-type": "application/json" });
    expect(ref.status).toBe(404);
    const start = await raw(eve, "POST", API, JSON.stringify({ conversationId: dm, size: 10, chunkSize: 4096 }), { "content-type": "application/json" });
    expect(start.status).toBe(404);
    expect((await start.json()).error.details[0].path).toBe("conversationId");
    // Once alice forwards it into her conversation with eve, eve may download it.
    await raw(alice, "POST", `${API}/${content.fileid}/refs`, JSON.stringify({ conversationId: eveDm, packetId: "cd".repeat(16), ttl: 0 }), { "content-type": "application/json" }).then((r) => expect(r.status).toBe(201));
    expect((await files(eve).download(content)).length).toBe(5 * KB);
    expect((await raw(bob, "GET", `${API}/${"0".repeat(32)}`)).status).toBe(404);
    expect((await raw(bob, "GET", `${API}/not-an-id`)).status).toBe(400);
    expect((await fetch(`${w.server.url}${API}/${content.fileid}`)).status).toBe(401);
  });

  test("chunk bodies: exact length only, up to the chunk size, never after completion", async () => {
    const create = (body: unknown) => raw(alice, "POST", API, JSON.stringify(body), { "content-type": "application/json" });
    expect((await raw(alice, "POST", API, "{nope", { "content-type": "application/json" })).status).toBe(400);
    const bad = await create({ conversationId: dm, size: "10", chunkSize: 4096 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.details[0].path).toBe("size");
    expect((await create({ conversationId: dm, size: 10, chunkSize: 100 })).status).toBe(400);
    expect((await create({ conversationId: dm, size: 10, chunkSize: 5 * 1024 * KB })).status).toBe(400);
    expect((await create({ conversationId: dm, size: 10, chunkSize: 4096, extra: 1 })).status).toBe(400);
    const s = (await (await create({ conversationId: dm, size: 5000, chunkSize: 4096 })).json()) as { fileId: string; chunkCount: number };
    expect(s.chunkCount).toBe(2);
    const put = (i: number, body: Uint8Array) => raw(alice, "PUT", `${API}/${s.fileId}/chunks/${i}`, body as Uint8Array<ArrayBuffer>, { "content-type": "application/octet-stream" });
    expect((await put(0, new Uint8Array(4096))).status).toBe(400);
    expect((await put(0, new Uint8Array(4096 + 29))).status).toBe(413);
    expect((await put(2, new Uint8Array(4096 + 28))).status).toBe(400);
    // Larger than any chunk may be: refused by the route's own body limit before it is read.
    const huge = await put(0, new Uint8Array(MAX_CHUNK_BODY + 1));
    expect(huge.status).toBe(413);
    expect((await huge.json()).error.code).toBe("payload_too_large");
    expect((await put(0, new Uint8Array(4096 + 28))).status).toBe(200);
    expect((await put(0, new Uint8Array(4096 + 28))).status).toBe(200);
    // A different copy of a chunk replaces the earlier one (the old blob goes).
    const before = blobCount();
    expect((await put(0, new Uint8Array(4096 + 28).fill(1))).status).toBe(200);
    expect(blobCount()).toBe(before);
    expect((await put(1, new Uint8Array(5000 - 4096 + 28))).status).toBe(200);
    expect((await raw(alice, "POST", `${API}/${s.fileId}/complete`)).status).toBe(200);
    expect((await put(1, new Uint8Array(5000 - 4096 + 28))).status).toBe(409);
    // Another user's upload session is not theirs to fill.
    expect((await raw(bob, "PUT", `${API}/${s.fileId}/chunks/0`, new Uint8Array(4124), {})).status).toBe(404);
  });

  test("the security group's maximum upload size and attachment switch are enforced", async () => {
    await setMessaging({ maxUploadBytes: 10_000 });
    try {
      await expect(files(alice).sendFile(dm, { name: "big", bytes: random(10_001) })).rejects.toMatchObject({ code: "payload_too_large", status: 413 });
      await sendAndReceive(random(10_000), { chunkSize: 4 * KB });
    } finally {
      await setMessaging({ maxUploadBytes: 5 * 1024 ** 3 });
    }
    const { content } = await sendAndReceive(random(3 * KB), { chunkSize: 4 * KB });
    const open = await files(alice).upload(dm, { name: "pending", bytes: random(KB) }).catch((e) => e);
    expect(open.fileid).toBeDefined();
    await setMessaging({ attachments: false });
    try {
      await expect(files(alice).sendFile(dm, { name: "x", bytes: random(10) })).rejects.toMatchObject({ code: "forbidden", message: expect.stringContaining("attachments") });
      await expect(files(bob).download(content)).rejects.toMatchObject({ code: "forbidden" });
      expect((await raw(bob, "GET", `${API}/${content.fileid}/chunks/0`)).status).toBe(403);
    } finally {
      await setMessaging({ attachments: true });
    }
    expect((await files(bob).download(content)).length).toBe(3 * KB);
  });
});

describe("lifecycle", () => {
  test("chunks are deleted once the only message referring to them has expired", async () => {
    const blobsBefore = blobCount();
    const { content, sent } = await sendAndReceive(random(10 * KB), { chunkSize: 4 * KB, ttl: 1 });
    expect(blobCount()).toBe(blobsBefore + 3);
    // Still alive while the message is.
    await sweepFiles(w.server.ctx);
    expect((await files(bob).download(content)).length).toBe(10 * KB);
    const packet = w.server.ctx.storage.readConns[0]!.query("select 1 from packets where packet_id = ?");
    await until(() => packet.get(sent.packetId) === null, "the relay's expirer deleted the message", 4000);
    await until(() => blobCount() === blobsBefore, "the file sweeper deleted the chunks", 4000);
    for (const h of content.chunkhashes) expect(() => statSync(blobStore(w.server.ctx).pathOf(h))).toThrow();
    await expect(files(bob).download(content)).rejects.toMatchObject({ code: "not_found" });
  });

  test("a file forwarded to a second conversation lives until the last message referring to it expires", async () => {
    const { content } = await sendAndReceive(random(2 * KB), { chunkSize: 4 * KB, ttl: 1 });
    const eveDm = (await eve.openDirect({ userId: alice.userId })).id;
    const fwd = await alice.send(eveDm, MessageType.file, content, { ttl: 3 });
    await raw(alice, "POST", `${API}/${content.fileid}/refs`, JSON.stringify({ conversationId: eveDm, packetId: fwd.packetId, ttl: 3 }), { "content-type": "application/json" });
    await Bun.sleep(1200);
    await sweepFiles(w.server.ctx);
    // bob's message has expired; eve's keeps the file.
    expect((await files(eve).download(content)).length).toBe(2 * KB);
    const path = blobStore(w.server.ctx).pathOf(content.chunkhashes[0]!);
    await until(() => !Bun.file(path).size, "chunks gone after the last message expired", 4000);
    await expect(files(eve).download(content)).rejects.toMatchObject({ code: "not_found" });
  });

  test("abandoned uploads, never-sent files and references to messages that never arrived are swept after their timeouts", async () => {
    const t = fileTimings(w.server.ctx);
    const saved = { ...t };
    try {
      let handle: UploadHandle | undefined;
      const abort = new AbortController();
      await files(alice).upload(dm, { name: "a", bytes: random(8 * KB) }, { chunkSize: 4 * KB, concurrency: 1, signal: abort.signal, onUpload: (h) => (handle = h), onProgress: (p) => p.done > 0 && abort.abort() }).catch(() => undefined);
      const unsent = await files(alice).upload(dm, { name: "b", bytes: random(KB) });
      const ghost = await files(alice).upload(dm, { name: "c", bytes: random(KB) });
      await raw(alice, "POST", `${API}/${ghost.fileid}/refs`, JSON.stringify({ conversationId: dm, packetId: "ef".repeat(16), ttl: 0 }), { "content-type": "application/json" });
      await sweepFiles(w.server.ctx);
      expect((await raw(alice, "GET", `${API}/${handle!.fileId}/upload`)).status).toBe(200);
      expect((await raw(bob, "GET", `${API}/${unsent.fileid}`)).status).toBe(200);
      expect((await raw(bob, "GET", `${API}/${ghost.fileid}`)).status).toBe(200);
      t.abandonMs = 0;
      t.refGraceMs = 0;
      await Bun.sleep(5);
      await sweepFiles(w.server.ctx);
      expect((await raw(alice, "GET", `${API}/${handle!.fileId}/upload`)).status).toBe(404);
      expect((await raw(bob, "GET", `${API}/${unsent.fileid}`)).status).toBe(404);
      expect((await raw(bob, "GET", `${API}/${ghost.fileid}`)).status).toBe(404);
    } finally {
      Object.assign(t, saved);
    }
  });
});

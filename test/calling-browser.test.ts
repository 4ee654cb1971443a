// Headless Chromium (fake media devices) joins a call through the node's signalling
// WebSocket, receives an SDK participant's audio through the SFU and decrypts every
// frame in an encoded transform: byte-identical to what the SDK participant sent.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Browser } from "playwright-core";
import { sharedKey, startTestNode, syntheticPayload, until, type TestNode } from "../src/calling/e2e/support.ts";
import { CallParticipant } from "../src/calling/participant.ts";
import { launchBrowser } from "./support/browser.ts";

let node: TestNode;
let browser: Browser;
let site: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  node = await startTestNode();
  const build = await Bun.build({ entrypoints: [new URL("./calling-browser/page.ts", import.meta.url).pathname, new URL("./calling-browser/worker.ts", import.meta.url).pathname], target: "browser", format: "esm" });
  if (!build.success) throw new Error(build.logs.join("\n"));
  const files = new Map<string, string>();
  for (const o of build.outputs) files.set("/" + o.path.split("/").pop(), await o.text());
  site = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/") return new Response(`<!doctype html><title>call</title><script type="module" src="/page.js"></script>`, { headers: { "content-type": "text/html" } });
      const js = files.get(path);
      return js ? new Response(js, { headers: { "content-type": "text/javascript" } }) : new Response("not found", { status: 404 });
    },
  });
  browser = await launchBrowser(["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection"]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  site?.stop(true);
  await node?.stop();
});

test("a browser receives and decrypts an SDK participant's media", async () => {
  const sdk = await node.join({ callId: "web", participantId: "sdk" }, { send: ["audio"], receive: { audio: 2 } });
  const key = await sharedKey(sdk.keyring);
  const page = await browser.newPage();
  const logs: string[] = [];
  page.on("console", (m) => logs.push(m.text()));
  await page.goto(`http://127.0.0.1:${site.port}/`);
  await page.waitForFunction(() => "joinCall" in window);
  const token = await node.grant({ callId: "web", participantId: "browser", kinds: { audio: true, video: false, screen: false } });
  await page.evaluate((p) => (window as unknown as { joinCall(p: unknown): Promise<void> }).joinCall(p), { signallingUrl: node.signallingUrl, token, key: { keyId: key.keyId, raw: [...key.raw] } });
  expect(await page.evaluate(() => (window as unknown as { state: string }).state)).toMatch(/^connected:/);
  const browserSide = node.node.sfu.calls.get("web")!.participants.get("browser")!;
  await until(() => browserSide.slots.some((s) => s.source?.owner.id === "sdk"), 5000, "the browser's slot");

  const sent: string[] = [];
  for (let i = 0; i < 50; i++) {
    const payload = syntheticPayload("sdk", "audio", i);
    sent.push(Buffer.from(payload).toString("hex"));
    await sdk.sendRtp("audio", payload);
    await Bun.sleep(20);
  }
  await page.waitForFunction((n) => (window as unknown as { received: string[] }).received.length >= n, 45, { timeout: 10_000 }).catch(() => {});
  const { received, failures } = await page.evaluate(() => ({ received: (window as unknown as { received: string[] }).received, failures: (window as unknown as { failures: string[] }).failures }));
  expect(failures, logs.join("\n")).toEqual([]);
  // Real-time audio may drop a late frame; every frame that arrives is byte-identical and in order.
  expect(received.length).toBeGreaterThanOrEqual(45);
  let at = 0;
  for (const r of received) {
    const idx = sent.indexOf(r, at);
    expect(idx, "a received frame that was never sent").toBeGreaterThanOrEqual(0);
    at = idx + 1;
  }
  await page.close();
  await sdk.leave();
});

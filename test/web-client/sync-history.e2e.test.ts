// A second browser of the same user, synced with a code from Settings → Add a device, starts
// with the first one's conversations and messages (moved encrypted under the code; an
// expiring one keeps its timer), then both devices receive what is sent next.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { OutpostClient } from "../../src/client/client.ts";
import type { ReceivedMessage } from "../../src/client/messages.ts";
import { inbox, until } from "../messaging/world.ts";
import { screenshot } from "../support/browser.ts";
import { PASSWORD, pageErrors, startHarness, type Harness, log, convButton } from "./harness.ts";

let h: Harness;
let first: Page;
let bob: OutpostClient;
let bobInbox: ReceivedMessage[];
beforeAll(async () => {
  h = await startHarness(["alice", "bob"]);
  first = await h.onboard("alice", "file");
  bob = await h.world.client("bob");
  bobInbox = inbox(bob);
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const texts = () => bobInbox.map((m) => (m.content as { text?: string } | null)?.text);

describe("history on a newly synced device", () => {
  test("device B signs in with a code from device A and shows A's history; then both receive new messages", async () => {
    await first.getByRole("button", { name: "New message" }).click();
    await first.getByRole("dialog").getByLabel("Username").fill("bob");
    await first.getByRole("dialog").getByRole("button", { name: "Open" }).click();
    await first.getByRole("heading", { level: 1, name: "bob" }).waitFor();
    await first.getByLabel("Message", { exact: true }).fill("history: alice on device A");
    await first.getByRole("button", { name: "Send", exact: true }).click();
    await until(() => texts().includes("history: alice on device A"), "bob receives it", 15_000);
    const dm = await bob.openDirect({ username: "alice" });
    await bob.sendText(dm.id, "history: bob's reply");
    await log(first).getByText("history: bob's reply").waitFor();
    // One that expires soon: it travels with its timer and vanishes on time on the new device too.
    await bob.sendText(dm.id, "history: expires soon", { ttl: 30 });
    await log(first).getByText("history: expires soon").waitFor();

    await first.getByRole("button", { name: "Settings" }).click();
    const settings = first.getByRole("dialog");
    expect(await settings.getByLabel(/Bring this device's conversations and messages/).isChecked()).toBe(true);
    await settings.getByRole("button", { name: "Show a sync code" }).click();
    const code = (await settings.getByTestId("sync-code").textContent())!.trim();
    await settings.getByText("The new device also receives 3 messages from here.").waitFor();
    await settings.getByRole("button", { name: "Close" }).click();

    const { page: second } = await h.open();
    await second.getByLabel("Client configuration file").setInputFiles({ name: "outpost.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(h.config)) });
    await second.getByLabel("Username").fill("alice");
    await second.getByLabel("Password").fill(PASSWORD);
    await second.getByRole("button", { name: "Sign in" }).click();
    await second.getByLabel("Sync code from your other device").fill(code);
    await second.getByRole("button", { name: "Sign in" }).click();
    await second.getByRole("status").filter({ hasText: "Connected" }).waitFor();
    await convButton(second, /bob/).click();
    await log(second).getByText("history: alice on device A").waitFor();
    await log(second).getByText("history: bob's reply").waitFor();
    // Alice's own message is hers on the new device too.
    await log(second).locator(".msg.mine", { hasText: "history: alice on device A" }).waitFor();
    await log(second).locator(".msg", { hasText: "history: expires soon" }).getByText(/expires in \d+ s/).waitFor();
    await screenshot(second, "web-client", "synced-device-history");

    // New messages reach both devices: bob's, and one sent from the new device.
    await bob.sendText(dm.id, "after the sync, from bob");
    await log(first).getByText("after the sync, from bob").waitFor();
    await log(second).getByText("after the sync, from bob").waitFor();
    await second.getByLabel("Message", { exact: true }).fill("after the sync, from device B");
    await second.getByRole("button", { name: "Send", exact: true }).click();
    await until(() => texts().includes("after the sync, from device B"), "bob receives device B's message", 15_000);
    await log(first).getByText("after the sync, from device B").waitFor();

    // The history survives a reload of the new device (it is in its own vault now).
    await second.waitForTimeout(400);
    await second.reload();
    await second.getByLabel("Password").fill(PASSWORD);
    await second.getByRole("button", { name: "Unlock" }).click();
    await convButton(second, /bob/).click();
    await log(second).getByText("history: bob's reply").waitFor();
    expect(await log(second).getByText("history: alice on device A").count()).toBe(1);
    // The expiring one goes from both devices (the archive keeps its sending time: sync-history.test.ts).
    await log(second).getByText("history: expires soon").waitFor({ state: "detached", timeout: 40_000 });
    await log(first).getByText("history: expires soon").waitFor({ state: "detached", timeout: 10_000 });
    expect(pageErrors(first)).toEqual([]);
    expect(pageErrors(second)).toEqual([]);
  }, 90_000);
});

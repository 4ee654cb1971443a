// The shared ICE-TCP port: reading the ufrag out of the first framed STUN request, handing
// the connection to the right (real werift) passive protocol, refusing everything else.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { classes, encodeTcpFrame, Message, methods, TcpPassiveProtocol } from "werift";
import { SharedTcpPort, ufragOfFirstFrame, type AcceptsTcpSocket } from "./tcp-mux.ts";

function bindingRequest(username?: string): Buffer {
  const m = new Message(methods.BINDING, classes.REQUEST);
  if (username !== undefined) m.setAttribute("USERNAME", username);
  m.setAttribute("PRIORITY", 12345);
  return encodeTcpFrame(m.bytes);
}

describe("ufragOfFirstFrame", () => {
  test("reads the local ufrag (the part before the colon)", () => {
    expect(ufragOfFirstFrame(bindingRequest("nodeUfrag:peerUfrag"))).toEqual({ ufrag: "nodeUfrag" });
  });
  test("waits for the rest of a split frame", () => {
    const f = bindingRequest("a:b");
    expect(ufragOfFirstFrame(f.subarray(0, 1))).toEqual({ incomplete: true });
    expect(ufragOfFirstFrame(f.subarray(0, f.length - 3))).toEqual({ incomplete: true });
  });
  test.each([
    ["an HTTP request", Buffer.from("GET / HTTP/1.1\r\n\r\n")],
    ["a frame too short for STUN", Buffer.from([0, 4, 1, 2, 3, 4])],
    ["a frame too long", Buffer.from([0xff, 0xff, 0, 1])],
    ["a binding response", encodeTcpFrame(new Message(methods.BINDING, classes.RESPONSE).bytes)],
    ["a request without USERNAME", bindingRequest()],
    ["an empty ufrag", bindingRequest(":peer")],
  ])("refuses %s", (_what, buf) => {
    expect(ufragOfFirstFrame(buf)).toHaveProperty("error");
  });
  test("refuses attributes that run past the message and a STUN length that disagrees with the frame", () => {
    const f = Buffer.from(bindingRequest("a:b"));
    const overflow = Buffer.from(f);
    overflow.writeUInt16BE(500, 2 + 20 + 2); // first attribute claims 500 bytes
    expect(ufragOfFirstFrame(overflow)).toHaveProperty("error");
    const lying = Buffer.from(f);
    lying.writeUInt16BE(lying.readUInt16BE(2 + 2) + 4, 2 + 2);
    expect(ufragOfFirstFrame(lying)).toHaveProperty("error");
  });
});

describe("SharedTcpPort", () => {
  const problems: string[] = [];
  const mux = new SharedTcpPort((r) => problems.push(r));
  let port = 0;
  const passive = new TcpPassiveProtocol();
  beforeAll(async () => {
    port = await mux.listen("127.0.0.1", 0);
    mux.register("owner1", passive as unknown as AcceptsTcpSocket);
  });
  afterAll(async () => {
    await mux.close();
  });

  const dial = () =>
    new Promise<Socket>((resolve) => {
      const s = connect(port, "127.0.0.1", () => resolve(s));
      s.on("error", () => {});
    });
  const closed = (s: Socket) => new Promise<void>((resolve) => s.on("close", () => resolve()));

  test("a request naming a registered ufrag reaches that peer connection's protocol, even split in pieces", async () => {
    const got = new Promise<string>((resolve) => passive.onRequestReceived.subscribe((msg) => resolve(String(msg.getAttributeValue("USERNAME")))));
    const s = await dial();
    const f = bindingRequest("owner1:remote");
    s.write(f.subarray(0, 7));
    await Bun.sleep(20);
    s.write(f.subarray(7));
    expect(await got).toBe("owner1:remote");
    expect(mux.stats.accepted).toBe(1);
    s.destroy();
  });

  test("unknown ufrags and non-STUN first bytes are disconnected", async () => {
    const a = await dial();
    const aClosed = closed(a);
    a.write(bindingRequest("nobody:remote"));
    await aClosed;
    const b = await dial();
    const bClosed = closed(b);
    b.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await bClosed;
    expect(problems).toEqual(expect.arrayContaining(["ICE username names no peer connection", "first frame is not a STUN message"]));
  });

  test("a released ufrag is no longer routed; registering one twice is an error", async () => {
    expect(() => mux.register("owner1", passive as unknown as AcceptsTcpSocket)).toThrow();
    mux.release("owner1");
    const s = await dial();
    const c = closed(s);
    s.write(bindingRequest("owner1:remote"));
    await c;
    expect(mux.has("owner1")).toBe(false);
  });
});

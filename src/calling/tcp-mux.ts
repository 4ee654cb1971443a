// ICE-TCP on one port for every call. werift's passive ICE-TCP opens one listening
// socket per peer connection; the node instead listens once, reads the first framed
// STUN binding request of each connection (RFC 4571 + RFC 6544), takes the local ufrag
// out of its USERNAME and hands the socket to that peer connection's passive protocol.
import { createServer, type Server, type Socket } from "node:net";

/** The part of werift's TcpPassiveProtocol the mux needs (it registers accepted sockets). */
export interface AcceptsTcpSocket {
  registerSocket(socket: Socket, remoteAddr?: [string, number]): unknown;
}

const STUN_MAGIC = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const ATTR_USERNAME = 0x0006;
/** A STUN binding request with its framing fits well inside this; more before identification is abuse. */
const MAX_FIRST_FRAME = 1500;
const IDENTIFY_TIMEOUT_MS = 5000;
const MAX_PENDING = 512;

/** The local ufrag named by the first framed STUN binding request, or an error string. */
export function ufragOfFirstFrame(buf: Uint8Array): { ufrag: string } | { incomplete: true } | { error: string } {
  if (buf.length < 2) return { incomplete: true };
  const len = (buf[0]! << 8) | buf[1]!;
  if (len < 20 || len > MAX_FIRST_FRAME) return { error: "first frame is not a STUN message" };
  if (buf.length < 2 + len) return { incomplete: true };
  const view = new DataView(buf.buffer, buf.byteOffset + 2, len);
  if (view.getUint16(0) !== BINDING_REQUEST || view.getUint32(4) !== STUN_MAGIC) return { error: "first frame is not a STUN binding request" };
  const bodyLen = view.getUint16(2);
  if (bodyLen + 20 !== len) return { error: "STUN length does not match its frame" };
  for (let off = 20; off + 4 <= len; ) {
    const type = view.getUint16(off);
    const alen = view.getUint16(off + 2);
    if (off + 4 + alen > len) return { error: "STUN attribute runs past the message" };
    if (type === ATTR_USERNAME) {
      const username = new TextDecoder().decode(buf.subarray(2 + off + 4, 2 + off + 4 + alen));
      const ufrag = username.split(":")[0] ?? "";
      return ufrag ? { ufrag } : { error: "empty USERNAME" };
    }
    off += 4 + alen + ((4 - (alen % 4)) % 4);
  }
  return { error: "binding request without USERNAME" };
}

export class SharedTcpPort {
  private readonly server: Server;
  private readonly owners = new Map<string, AcceptsTcpSocket>();
  private pending = 0;
  stats = { accepted: 0, rejected: 0 };

  constructor(private readonly onProblem: (reason: string) => void = () => {}) {
    this.server = createServer((socket) => this.accept(socket));
    this.server.on("error", (e) => onProblem(`tcp listener: ${(e as Error).message}`));
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ host, port, exclusive: true }, () => {
        this.server.off("error", reject);
        const addr = this.server.address();
        resolve(typeof addr === "object" && addr ? addr.port : port);
      });
    });
  }

  /** Routes connections naming `ufrag` to `owner` until released. */
  register(ufrag: string, owner: AcceptsTcpSocket): void {
    if (this.owners.has(ufrag)) throw new Error("ufrag already registered");
    this.owners.set(ufrag, owner);
  }

  release(ufrag: string): void {
    this.owners.delete(ufrag);
  }

  has(ufrag: string): boolean {
    return this.owners.has(ufrag);
  }

  /** Peer connections currently reachable through the port. */
  get registered(): number {
    return this.owners.size;
  }

  private accept(socket: Socket) {
    if (this.pending >= MAX_PENDING) {
      this.stats.rejected++;
      socket.destroy();
      return;
    }
    this.pending++;
    let buf: Buffer = Buffer.alloc(0);
    let settled = false;
    const settle = () => {
      settled = true;
      this.pending--;
      clearTimeout(timer);
      socket.off("data", onData);
    };
    const reject = (reason: string) => {
      if (settled) return;
      settle();
      this.stats.rejected++;
      this.onProblem(reason);
      socket.destroy();
    };
    const timer = setTimeout(() => reject("no STUN binding request in time"), IDENTIFY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const r = ufragOfFirstFrame(buf);
      if ("incomplete" in r) {
        if (buf.length > MAX_FIRST_FRAME + 2) reject("first frame too long");
        return;
      }
      if ("error" in r) return reject(r.error);
      const owner = this.owners.get(r.ufrag);
      if (!owner) return reject("ICE username names no peer connection");
      settle();
      this.stats.accepted++;
      const remote: [string, number] | undefined = socket.remoteAddress && socket.remotePort ? [socket.remoteAddress, socket.remotePort] : undefined;
      owner.registerSocket(socket, remote);
      // Replay what was read while identifying: the owner's own data handler now parses it.
      socket.emit("data", buf);
    };
    socket.on("data", onData);
    socket.on("error", () => reject("socket error before identification"));
    socket.on("close", () => reject("closed before identification"));
  }

  close(): Promise<void> {
    this.owners.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// The node's side of one participant's peer connection: werift configured for an SFU
// (one bundled transport, media bound to the configured address and UDP range, its own
// DTLS certificate) with the shared ICE-TCP port attached as a passive candidate.
import "../reflect.ts";
import { randomBytes } from "node:crypto";
import {
  Candidate,
  candidateFoundation,
  candidatePriority,
  CipherContext,
  HashAlgorithm,
  NamedCurveAlgorithm,
  RTCPeerConnection,
  SignatureAlgorithm,
  TcpPassiveProtocol,
  useAudioLevelIndication,
  useOPUS,
  useSdesMid,
  useVP8,
  type DtlsKeys,
} from "werift";
import type { AcceptsTcpSocket, SharedTcpPort } from "./tcp-mux.ts";

export interface MediaNetwork {
  address: string;
  udpPorts: UdpPortPool;
  tcp: SharedTcpPort;
  tcpPort: number;
}

/**
 * Hands out the UDP media ports of the configured range, one per peer connection.
 * werift, given a range, probes it from the bottom (bind, close, bind again), so two
 * connections gathering at once can pick the same port and one never starts: the
 * node decides the port itself and makes werift start its probe there.
 */
export class UdpPortPool {
  private readonly inUse = new Set<number>();
  private next: number;
  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    this.next = min;
  }

  take(): number {
    const size = this.max - this.min + 1;
    for (let i = 0; i < size; i++) {
      const p = this.next;
      this.next = p >= this.max ? this.min : p + 1;
      if (!this.inUse.has(p)) {
        this.inUse.add(p);
        return p;
      }
    }
    throw new Error(`every UDP port of ${this.min}-${this.max} is in use`);
  }

  release(port: number): void {
    this.inUse.delete(port);
  }

  get used(): number {
    return this.inUse.size;
  }
}

/**
 * werift reuses one process-wide DTLS certificate unless given keys; each peer
 * connection gets its own so one leaked key or fingerprint ties nothing together.
 * A few are made ahead so a join does not wait for key generation.
 */
export class CertificatePool {
  private ready: DtlsKeys[] = [];
  private filling = false;
  constructor(private readonly size = 8) {}

  private static make(): Promise<DtlsKeys> {
    return CipherContext.createSelfSignedCertificateWithKey(
      { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
      NamedCurveAlgorithm.secp256r1_23,
    ) as Promise<DtlsKeys>;
  }

  async take(): Promise<DtlsKeys> {
    const k = this.ready.pop() ?? (await CertificatePool.make());
    void this.fill();
    return k;
  }

  async fill(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      while (this.ready.length < this.size) this.ready.push(await CertificatePool.make());
    } finally {
      this.filling = false;
    }
  }
}

/** The ICE agent internals the shared-port attachment touches (private in werift's types). */
interface IceConnectionInternals {
  localUsername: string;
  generation: number;
  protocols: unknown[];
  checkList: unknown[];
  earlyChecks: unknown[];
  state: string;
  ensureProtocol(p: unknown): void;
  connect(): Promise<void>;
}

/** How long a passive-only agent waits for the participant's first check (werift's own check budget). */
const FIRST_CHECK_WAIT_MS = 30_000;

export const mediaCodecs = { audio: [useOPUS()], video: [useVP8()] };
export const mediaHeaderExtensions = { audio: [useSdesMid(), useAudioLevelIndication()], video: [useSdesMid()] };

export async function createNodePeer(net: MediaNetwork, certs: CertificatePool, opts: { forceTcp: boolean; udpPort: number }): Promise<RTCPeerConnection> {
  const keys = await certs.take();
  return new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [net.address],
    iceInterfaceAddresses: { udp4: net.address },
    // werift refuses a one-port range; it probes from the bottom, so it binds our port (free:
    // it is ours) and only falls back to the next one if another program holds ours.
    icePortRange: opts.udpPort < 65535 ? [opts.udpPort, opts.udpPort + 1] : [opts.udpPort - 1, opts.udpPort],
    bundlePolicy: "max-bundle",
    codecs: mediaCodecs,
    headerExtensions: mediaHeaderExtensions,
    dtls: { keys },
    // Force-TCP (a security-group switch) is enforced here, not only in the SDP we hand out:
    // binding requests that arrive over UDP are ignored and no UDP pair is ever formed.
    ...(opts.forceTcp
      ? {
          iceFilterStunResponse: (_m, _a, protocol) => protocol.type === "tcp",
          iceFilterCandidatePair: (pair) => pair.protocol.type === "tcp",
        }
      : {}),
  });
}

/**
 * Gives the peer connection a passive ICE-TCP candidate on the node's one shared TCP port.
 * Call after setRemoteDescription (the ICE agent exists) and before setLocalDescription
 * (gathering advertises every protocol already attached). Returns the release function.
 */
export function attachSharedTcp(pc: RTCPeerConnection, net: MediaNetwork): () => void {
  const transport = pc.iceTransports[0];
  if (!transport) throw new Error("no ICE transport yet");
  const conn = transport.connection as unknown as IceConnectionInternals;
  // werift's 4-character ufrag is the demultiplexing key here: make it long enough never to collide.
  let ufrag: string;
  do ufrag = randomBytes(12).toString("base64url");
  while (net.tcp.has(ufrag));
  conn.localUsername = ufrag;
  const passive = new TcpPassiveProtocol();
  // localIp stays unset: werift skips gathering UDP on any address a protocol already claims.
  passive.localCandidate = new Candidate(
    candidateFoundation("host", "tcp", net.address),
    1,
    "tcp",
    candidatePriority("host", { transport: "tcp", tcptype: "passive" }),
    net.address,
    net.tcpPort,
    "host",
    undefined,
    undefined,
    "passive",
    conn.generation,
    ufrag,
  );
  conn.ensureProtocol(passive);
  conn.protocols.push(passive);
  // werift's connect() gives up at once when it has no pair to check, which is the case for a
  // force-TCP participant (a passive candidate only pairs once the participant's check arrives):
  // hold connect() until there is a pair or an early check to answer.
  const connect = conn.connect.bind(conn);
  conn.connect = async () => {
    const end = Date.now() + FIRST_CHECK_WAIT_MS;
    while (conn.checkList.length === 0 && conn.earlyChecks.length === 0 && conn.state !== "closed" && Date.now() < end) await Bun.sleep(20);
    return connect();
  };
  // registerSocket is protected in werift's types; it is exactly how its own listener hands over accepted sockets.
  net.tcp.register(ufrag, passive as unknown as AcceptsTcpSocket);
  return () => net.tcp.release(ufrag);
}

/** Drops UDP candidates from an SDP (force-TCP participants must not even learn the UDP port). */
export function onlyTcpCandidates(sdp: string): string {
  return sdp
    .split("\r\n")
    .filter((l) => !(l.startsWith("a=candidate:") && / udp /i.test(l)))
    .join("\r\n");
}

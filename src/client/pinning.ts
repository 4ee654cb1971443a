// Certificate pinning for clients outside a browser (the SDK, the CLI and bots under Bun).
// A configuration carrying pins (SHA-256 fingerprints of certificates) and/or the pinned
// certificates themselves makes every request and the relay connection accept exactly those
// certificates: a self-signed appliance certificate is trusted as its own root (`ca`) and any
// other certificate, however well signed, is refused. In a browser the page itself came from
// the server over the TLS connection the browser verified, and scripts cannot see
// certificates: pins are not checked there. A runtime that can check neither fails closed.
import { fromBase64url, toHex } from "../crypto/index.ts";
import { OutpostError, type ClientConfig, type TlsOptions } from "./api.ts";


export class CertificateNotPinned extends OutpostError {
  constructor(host: string, fingerprint: string) {
    super("certificate_not_pinned", `the certificate of ${host} (SHA-256 ${fingerprint}) is not one this configuration pins: refusing to connect`);
  }
}

const normalize = (fp: string) => fp.replace(/[^0-9a-fA-F]/g, "").toUpperCase();
const inBrowser = () => typeof document !== "undefined";
type BunHasher = { update(b: Uint8Array): BunHasher; digest(): Uint8Array };
const bunRuntime = () => (globalThis as { Bun?: { CryptoHasher: new (alg: string) => BunHasher } }).Bun;

function pemFingerprint(pem: string, hasher: new (alg: string) => BunHasher): string {
  const b64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
  const der = fromBase64url(b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
  return toHex(new hasher("sha256").update(der).digest()).toUpperCase();
}

/** The `tls` options enforcing a configuration's pins; undefined when it has none (or in a browser). */
export function pinnedTls(config: Pick<ClientConfig, "serviceUrl" | "pins" | "certificates">): TlsOptions | undefined {
  const certificates = config.certificates ?? [];
  if (!config.pins?.length && !certificates.length) return undefined;
  if (!/^https:/i.test(config.serviceUrl)) throw new OutpostError("pinning_unsupported", "certificate pins need an https:// serviceUrl");
  if (inBrowser()) return undefined;
  const bun = bunRuntime();
  if (!bun) throw new OutpostError("pinning_unsupported", "this runtime cannot check certificate pins: run the client under Bun, or use a configuration without pinned certificates");
  const pins = new Set([...(config.pins ?? []).map(normalize), ...certificates.map((pem) => pemFingerprint(pem, bun.CryptoHasher))]);
  return {
    ...(certificates.length ? { ca: certificates } : {}),
    // Replaces the host-name check: the pinned certificate itself is the stronger statement.
    checkServerIdentity(host, cert) {
      const fp = normalize(cert.fingerprint256 ?? "");
      return pins.has(fp) ? undefined : new CertificateNotPinned(host, cert.fingerprint256 ?? "unknown");
    },
  };
}

// TLS material: a kept self-signed certificate for `tls=auto` (generated once
// into <dataDir>/tls/), or the operator's PEM files. Clients pin the SHA-256
// fingerprint printed at start.
import type * as X509 from "@peculiar/x509";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export interface TlsMaterial {
  cert: string;
  key: string;
  fingerprint: string;
}

// @peculiar/x509 needs the Reflect metadata API before it is evaluated. Static imports
// leave that order to the runtime's ESM/CommonJS linking (seen failing now and then), so
// the library is loaded explicitly after it, once.
let loaded: Promise<typeof X509> | undefined;
function loadX509(): Promise<typeof X509> {
  loaded ??= import("../reflect.ts")
    .then(() => import("@peculiar/x509"))
    .then((m) => {
      m.cryptoProvider.set(crypto);
      return m;
    });
  return loaded;
}

const toPem = (der: ArrayBuffer, label: string) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").trimEnd()}\n-----END ${label}-----\n`;

/** SHA-256 over the certificate's DER bytes, as upper-case hex pairs joined by colons. */
export async function certificateFingerprint(certPem: string): Promise<string> {
  const x509 = await loadX509();
  const cert = new x509.X509Certificate(certPem);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", cert.rawData));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

export async function generateSelfSigned(names: string[]): Promise<{ cert: string; key: string }> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const keys = (await crypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = new Date();
  const x509 = await loadX509();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex").replace(/^[89a-f]/, "1"),
    name: `CN=${names[0] ?? "outpost"}, O=Outpost`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 5 * 365 * 86400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => (/^[\d.]+$/.test(n) || n.includes(":") ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n })),
      ),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: cert.toString("pem") + "\n", key: toPem(pkcs8, "PRIVATE KEY") };
}

/** Loads <dataDir>/tls/{cert,key}.pem, creating them on first use. */
export async function ensureAutoCertificate(dataDir: string, host: string): Promise<TlsMaterial & { created: boolean }> {
  const dir = join(dataDir, "tls");
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  let created = false;
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const names = [...new Set(["localhost", "127.0.0.1", hostname(), ...(host && host !== "0.0.0.0" && host !== "::" ? [host] : [])])];
    const { cert, key } = await generateSelfSigned(names);
    writeFileSync(keyPath, key, { mode: 0o600 });
    chmodSync(keyPath, 0o600);
    writeFileSync(certPath, cert);
    created = true;
  }
  const cert = readFileSync(certPath, "utf8");
  return { cert, key: readFileSync(keyPath, "utf8"), fingerprint: await certificateFingerprint(cert), created };
}

export async function loadCertificateFiles(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const cert = readFileSync(certPath, "utf8");
  const key = readFileSync(keyPath, "utf8");
  return { cert, key, fingerprint: await certificateFingerprint(cert) };
}

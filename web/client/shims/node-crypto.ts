// Browser stand-in for the one node:crypto function the SDK's file module uses
// (createHash("sha256"), incremental): @noble/hashes, a few KiB, instead of the
// bundler's crypto-browserify polyfill (~150 KiB gzip). scripts/build-web.ts maps it.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

export function createHash(algorithm: string) {
  if (algorithm !== "sha256") throw new Error(`createHash: only sha256 is available in the browser, not ${algorithm}`);
  const h = sha256.create();
  const api = {
    update(data: Uint8Array) {
      h.update(data);
      return api;
    },
    digest(encoding: "hex") {
      if (encoding !== "hex") throw new Error("digest: only hex is available in the browser");
      return bytesToHex(h.digest());
    },
  };
  return api;
}

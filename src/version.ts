// The version baked into the binary (package.json is bundled by bun build).
import pkg from "../package.json" with { type: "json" };

export const version: string = pkg.version;

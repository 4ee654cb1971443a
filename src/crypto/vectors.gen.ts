// Regenerates fixtures/crypto/vectors.json: `node_modules/.bin/bun src/crypto/vectors.gen.ts`.

import { writeFile } from "node:fs/promises";
import { generateVectors } from "./test-vectors.ts";

const target = new URL("../../fixtures/crypto/vectors.json", import.meta.url);
await writeFile(target, JSON.stringify(await generateVectors(), null, 2) + "\n");
console.log(`wrote ${target.pathname}`);

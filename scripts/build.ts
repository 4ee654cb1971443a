// Builds dist/outpost: one executable with migrations, web assets and the API
// reference inside. Set OUTPOST_BUILD_TARGET (e.g. bun-linux-x64-baseline for
// CPUs without AVX2) to build for another target; Bun must have that runtime cached.
import { $ } from "bun";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const outfile = process.env.OUTPOST_BUILD_OUT ?? join(root, "dist", "outpost");
const target = process.env.OUTPOST_BUILD_TARGET;

mkdirSync(join(root, "dist"), { recursive: true });
await $`bun ${join(root, "scripts", "build-web.ts")}`.cwd(root);
await $`bun ${join(root, "scripts", "embed-assets.ts")}`.cwd(root);
await $`bun ${join(root, "scripts", "embed-migrations.ts")}`.cwd(root);

const started = performance.now();
const args = [
  "build",
  "--compile",
  "--minify",
  // Precompiled bytecode: the binary starts in ~15 ms instead of ~90 ms.
  "--bytecode",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  ...(target ? [`--target=${target}`] : []),
  join(root, "src", "main.ts"),
  "--outfile",
  outfile,
];
await $`bun ${args}`.cwd(root);
const mb = (statSync(outfile).size / 1024 / 1024).toFixed(1);
console.log(`built ${outfile} (${mb} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s${target ? ` for ${target}` : ""}`);

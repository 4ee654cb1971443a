import { defineConfig } from "vitest/config";

// Tests run under Bun (bun:sqlite exists only there); the forks pool does not start under Bun.
export default defineConfig({
  test: {
    pool: "threads",
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "scripts/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

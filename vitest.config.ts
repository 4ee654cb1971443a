import { defineConfig } from "vitest/config";

// Tests run under Bun (bun:sqlite exists only there); the forks pool does not start under Bun.
export default defineConfig({
  test: {
    pool: "threads",
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "scripts/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The suite shares two cores with real servers, browsers and media: polled
    // expectations get room for a loaded machine rather than vitest's 1 s default.
    expect: { poll: { timeout: 10_000, interval: 50 } },
  },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-leak-check.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { PODVISOR_LOG_LEVEL: process.env.PODVISOR_LOG_LEVEL ?? "fatal" },
  },
});

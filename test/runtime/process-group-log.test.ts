/**
 * Issue 3: where cgroup v2 cannot be used, the backend falls back to process groups "and says so
 * once in the log" — once per backend, however many containers it runs.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { configureLogging } from "../../src/log/logger.ts";
import type { LogLevel } from "../../src/log/logger.ts";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import { useRuntimeHarness } from "./runtime-harness.ts";

const fallbackMessage = "Using process groups instead of cgroup v2";

describe("ProcessBackend falling back to process groups, in the log", () => {
  const h = useRuntimeHarness(() => new ProcessBackend({ forceProcessGroup: true }));
  const levelBefore = (process.env.PODVISOR_LOG_LEVEL ?? "info") as LogLevel;
  let lines: string[] = [];

  beforeEach(() => {
    lines = [];
    configureLogging({ level: "warn" });
    const write = process.stderr.write.bind(process.stderr);
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = String(chunk);
      if (text.includes(fallbackMessage)) {
        lines.push(text);
        return true;
      }
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    configureLogging({ level: levelBefore });
  });

  test("says so once, with its reason, for three containers", async () => {
    for (let index = 0; index < 3; index++) await h.run(["sleep", "1000"]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WARN/);
    expect(lines[0]).toContain("forced by the forceProcessGroup option");
  });
});

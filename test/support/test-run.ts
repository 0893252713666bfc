/**
 * One test run's own names, so that two runs on one host never take each other's objects for leaks.
 * The global setup (`global-leak-check.ts`) picks the run's id and folder and hands both to every
 * test process through the environment: `PVTEST_RUN`, and `TMPDIR`, so that every root a test makes
 * with `mkdtemp(join(tmpdir(), …))` lies in the run's folder.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";

/** This run's id (lowercase letters and digits), or `solo` for a test file run outside vitest's setup. */
export const testRunId = process.env.PVTEST_RUN ?? "solo";

/** The prefix of every network namespace and top-level cgroup a test makes by itself. */
export const testNamePrefix = `pvtest-${testRunId}-`;

/** A fresh name for a test's own netns or cgroup: `pvtest-<run>-<suffix>`. */
export function testName(suffix: string): string {
  return `${testNamePrefix}${suffix}`;
}

/** Where a test's temporary folder goes: the run's folder (TMPDIR). */
export function testTempPrefix(label: string): string {
  return join(tmpdir(), `pvtest-${label}-`);
}

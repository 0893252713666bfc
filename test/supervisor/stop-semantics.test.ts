/**
 * Rules of `../shared/SEMANTICS.md` that `sandbox-stop.test.ts` does not pin down on its own: the
 * operation's metrics (rule 1), the default timeout and the infra container's reserved share of
 * the budget (rule 5), a joined stop that may never lengthen the deadline, and the placement of a
 * sandbox's containers on its own worker (issue 3, deliverable 1).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ignoresTermCommand, noLeftovers, runTestPod, startTestSupervisor, zombieChildren } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";

const ignoreTerm = ignoresTermCommand;

describe("stop semantics", () => {
  let t: TestSupervisor;
  beforeAll(async () => {
    t = await startTestSupervisor();
  });
  afterAll(async () => {
    expect(await t.close()).toEqual(noLeftovers);
    expect(await zombieChildren()).toEqual([]);
  });

  const runPod = (commands: string[][]) => runTestPod(t, commands, { name: "semantics" });

  test("rule 1: every stop is counted and timed under stop_pod_sandbox, a failed one also as an error by code", async () => {
    const { id } = await runPod([["sleep", "1000"]]);
    await expect(t.supervisor.stopPodSandbox("")).rejects.toThrow(TypeError);
    await t.supervisor.stopPodSandbox("doesnotexist2");
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 5_000 });
    const text = await t.supervisor.metricsText();
    expect(text).toMatch(/podvisor_operations_total\{operation="stop_pod_sandbox"\} 3\n/);
    expect(text).toMatch(/podvisor_operation_errors_total\{operation="stop_pod_sandbox",code="INVALID_ARGUMENT"\} 1\n/);
    expect(text).toMatch(/podvisor_operation_duration_seconds_count\{operation="stop_pod_sandbox"\} 3\n/);
    for (const phase of ["containers-stop", "netns-removal", "shm-unmount", "cgroup-removal", "total"]) {
      expect(text).toContain(`podvisor_stop_phase_duration_seconds_count{phase="${phase}"} 1\n`);
    }
    await t.supervisor.removePodSandbox(id);
  });

  test("rule 5: with no timeout given, the stop's deadline is 10 s after its request", async () => {
    const { id } = await runPod([["sleep", "1000"]]);
    const before = Date.now();
    await t.supervisor.stopPodSandbox(id);
    const { stop } = t.supervisor.podSandboxStatus(id);
    expect(stop?.deadlineAt).toBeGreaterThanOrEqual(before + 10_000);
    expect((stop?.deadlineAt as number) - (stop?.requestedAt as number)).toBeLessThanOrEqual(10_000);
    await t.supervisor.removePodSandbox(id);
  });

  test("rule 5: application containers are killed before the deadline, leaving the infra container its reserve; infra stops last", async () => {
    // Budget 4 s: the reserve is 1 s, so the application container is killed at about 3 s.
    const timeoutMs = 4_000;
    const { id, containers } = await runPod([ignoreTerm]);
    const startedAt = Date.now();
    await t.supervisor.stopPodSandbox(id, { timeoutMs });
    const app = t.supervisor.containerStatus(containers[0]);
    const infra = t.supervisor.containerStatus(t.supervisor.podSandboxStatus(id).infraContainerId as string);
    expect(app).toMatchObject({ state: "exited", signal: "SIGKILL", reason: "killed-at-deadline" });
    expect(app.finishedAt as number).toBeGreaterThanOrEqual(startedAt + timeoutMs / 2);
    expect(app.finishedAt as number).toBeLessThan(startedAt + timeoutMs);
    // The infra container got its stop signal only then, and stopped on it: no kill needed.
    expect(infra).toMatchObject({ state: "exited", signal: "SIGTERM", reason: "signalled" });
    expect(infra.finishedAt as number).toBeGreaterThanOrEqual(app.finishedAt as number);
    await t.supervisor.removePodSandbox(id);
  });

  test("a stop that joins one in progress may never lengthen its deadline", async () => {
    const { id, containers } = await runPod([ignoreTerm]);
    const startedAt = Date.now();
    const early = t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    const late = t.supervisor.stopPodSandbox(id, { timeoutMs: 20_000 });
    const [first, second] = await Promise.all([early, late]);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(second).toBe(first);
    expect(t.supervisor.podSandboxStatus(id).stop?.deadlineAt).toBeLessThan(startedAt + 2_000);
    expect(t.supervisor.containerStatus(containers[0])).toMatchObject({ reason: "killed-at-deadline" });
    await t.supervisor.removePodSandbox(id);
  });

  test("a sandbox and its containers live on the same worker", async () => {
    const pods = [await runPod([["sleep", "1000"], ["sleep", "1000"]]), await runPod([["sleep", "1000"]])];
    for (const { id, containers } of pods) {
      const worker = t.supervisor.workerOf(id);
      expect(worker).toBeDefined();
      const infraId = t.supervisor.podSandboxStatus(id).infraContainerId as string;
      for (const containerId of [infraId, ...containers]) expect(t.supervisor.workerOf(containerId)).toBe(worker);
    }
    for (const { id } of pods) await t.supervisor.removePodSandbox(id);
  });
});

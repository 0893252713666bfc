/**
 * The podvisor side of the teardown benchmark, end to end with a real daemon and a few sandboxes:
 * what it reports, not how fast (no timing is asserted beyond order).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { makeBusyboxRootfs } from "../../bench/teardown/busybox-rootfs.ts";
import { measurePodvisor } from "../../bench/teardown/measure-podvisor.ts";
import { containerConfig } from "../../src/api/schemas.ts";
import type { PodvisorResult } from "../../bench/teardown/measure-podvisor.ts";

const daemonHelp = (await execa("node_modules/.bin/node", ["bin/podvisor.js", "daemon", "--help"], { reject: false })).stdout;
const daemonHasRunc = /--backend[\s\S]*runc/.test(daemonHelp);
/** Whether the API takes `init: true` (catatonit as PID 1), which graceful containers need on runc. */
const apiHasInit = containerConfig.safeParse({ name: "c", command: ["sleep", "1"], init: true }).success;

function expectSane(result: PodvisorResult, sandboxes: number): void {
  expect(result.failed).toBe(0);
  expect(result.latencyMs).toHaveLength(sandboxes);
  // One progress notification per sandbox, each timed from the stop-all request.
  expect(result.latencyFromRequestMs).toHaveLength(sandboxes);
  for (const ms of result.latencyFromRequestMs) {
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThanOrEqual(result.stopWallMs);
  }
  expect(result.setup.wallMs).toBeGreaterThan(0);
  expect(result.setup.daemonCpuMs).toBeGreaterThanOrEqual(0);
  expect(result.setup.machineCpuMs).toBeGreaterThanOrEqual(result.setup.daemonCpuMs);
  expect(result.daemon.rssAfterSetupBytes).toBeGreaterThan(10 * 2 ** 20);
  expect(result.daemon.peakRssBytes).toBeGreaterThanOrEqual(result.daemon.rssAfterSetupBytes);
  expect(result.statusMs.samples).toBeGreaterThan(0);
  expect(result.removeErrors).toEqual([]);
}

describe("measurePodvisor()", () => {
  test("on the process backend: every sandbox timed from the request, setup cost, RSS after setup", async () => {
    const result = await measurePodvisor({ sandboxes: 3, containers: 1, workload: "graceful", timeoutMs: 5_000, runtime: "node", strategy: "parallel", backend: "process" });
    expect(result.backend).toBe("process");
    expectSane(result, 3);
  }, 120_000);

  test("through the CRI, kubelet's way: every container stopped, then every pod; both phases timed", async () => {
    const result = await measurePodvisor({ sandboxes: 3, containers: 3, workload: "graceful", timeoutMs: 5_000, runtime: "node", strategy: "parallel", backend: "process", via: "cri" });
    expect(result.via).toBe("cri");
    expectSane(result, 3);
    expect(result.errors).toEqual([]);
    expect(result.leftovers).toEqual([]);
    // The CRI lists no infra container: 3 × 3 StopContainer calls, then 3 StopPodSandbox.
    expect(result.cri?.containers).toBe(9);
    expect(result.cri!.stopContainersMs).toBeGreaterThan(0);
    expect(result.cri!.stopPodSandboxesMs).toBeGreaterThan(0);
    expect(result.cri!.stopContainersMs + result.cri!.stopPodSandboxesMs).toBeCloseTo(result.stopWallMs, 3);
    for (const ms of result.latencyMs) expect(ms).toBeLessThanOrEqual(result.cri!.stopPodSandboxesMs);
  }, 120_000);

  test("through the CRI on Deno: refused up front (the CRI is served on Node only)", async () => {
    await expect(measurePodvisor({ sandboxes: 1, containers: 1, workload: "graceful", timeoutMs: 1_000, runtime: "deno", strategy: "parallel", backend: "process", via: "cri" }))
      .rejects.toThrow(/served on Node only/);
  });

  test("on the process backend with a busybox rootfs (chrooted)", async () => {
    const rootfs = await makeBusyboxRootfs(await mkdtemp(join(tmpdir(), "pvtest-rootfs-")));
    try {
      const result = await measurePodvisor({ sandboxes: 2, containers: 1, workload: "ignore-term", timeoutMs: 500, runtime: "node", strategy: "parallel", backend: "process", rootfs });
      expectSane(result, 2);
    } finally {
      await rm(rootfs, { recursive: true, force: true });
    }
  }, 120_000);

  test.skipIf(!daemonHasRunc)("on runc: SIGTERM-ignoring containers in a busybox rootfs are killed at the deadline (skipped while the daemon has no --backend runc)", async () => {
    const rootfs = await makeBusyboxRootfs(await mkdtemp(join(tmpdir(), "pvtest-rootfs-")));
    try {
      const result = await measurePodvisor({ sandboxes: 2, containers: 2, workload: "ignore-term", timeoutMs: 1_000, runtime: "node", strategy: "parallel", backend: "runc", rootfs });
      expect(result.backend).toBe("runc");
      expectSane(result, 2);
      expect(result.phasesP50Ms.kill).toBeDefined();
    } finally {
      await rm(rootfs, { recursive: true, force: true });
    }
  }, 180_000);

  test.skipIf(!daemonHasRunc || !apiHasInit)("on runc: graceful containers run under init and stop on SIGTERM, before the deadline (skipped while the daemon lacks --backend runc or the container option init)", async () => {
    const rootfs = await makeBusyboxRootfs(await mkdtemp(join(tmpdir(), "pvtest-rootfs-")));
    try {
      const result = await measurePodvisor({ sandboxes: 2, containers: 2, workload: "graceful", timeoutMs: 30_000, runtime: "node", strategy: "parallel", backend: "runc", rootfs });
      expectSane(result, 2);
      expect(result.phasesP50Ms.kill).toBeUndefined();
      expect(result.stopWallMs).toBeLessThan(30_000);
    } finally {
      await rm(rootfs, { recursive: true, force: true });
    }
  }, 180_000);

  test.skipIf(!daemonHasRunc || apiHasInit)("on runc without the container option init: graceful says so (skipped once the API has init)", async () => {
    const rootfs = await makeBusyboxRootfs(await mkdtemp(join(tmpdir(), "pvtest-rootfs-")));
    try {
      await expect(measurePodvisor({ sandboxes: 1, containers: 1, workload: "graceful", timeoutMs: 1_000, runtime: "node", strategy: "parallel", backend: "runc", rootfs }))
        .rejects.toThrow(/does not accept the container option `init` yet/);
    } finally {
      await rm(rootfs, { recursive: true, force: true });
    }
  }, 180_000);

  test("a daemon that cannot start is said at once, not after the socket wait", async () => {
    const startedAt = performance.now();
    await expect(measurePodvisor({ sandboxes: 1, containers: 1, workload: "graceful", timeoutMs: 1_000, runtime: "node", strategy: "parallel", backend: "no-such" as "process" }))
      .rejects.toThrow(/the daemon exited before serving/);
    expect(performance.now() - startedAt).toBeLessThan(50_000);
  }, 120_000);
});

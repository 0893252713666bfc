import { afterEach, describe, expect, test, vi } from "vitest";
import type { CFloorResult } from "../../bench/teardown/c-floor-plan.ts";
import type { FloorResult } from "../../bench/teardown/floor.ts";
import type { PodvisorResult } from "../../bench/teardown/measure-podvisor.ts";
import { printReport } from "../../bench/teardown/report.ts";

function podvisor(backend: string, stopWallMs: number): PodvisorResult {
  return {
    strategy: "parallel",
    via: "json-rpc",
    runtime: "node",
    backend,
    network: "none",
    setup: { wallMs: 300_000, daemonCpuMs: 40_000, daemonChildrenCpuMs: 10_000, machineCpuMs: 500_000 },
    stopWallMs,
    failed: 0,
    errors: [],
    latencyMs: [stopWallMs / 2, stopWallMs - 10],
    latencyFromRequestMs: [stopWallMs / 2 + 5, stopWallMs - 1],
    phasesP50Ms: { "containers-stop": 800 },
    statusMs: { p50: 0.7, p99: 31.5, samples: 140 },
    listMs: { p50: 15, p99: 120, samples: 12 },
    daemon: { rssAfterSetupBytes: 900 * 2 ** 20, peakRssBytes: 1_200 * 2 ** 20, cpuMs: 60_000, actorsPerWorker: [20_000, 20_000] },
    removeErrors: [],
    leftovers: [],
  };
}

const own: FloorResult = { setupMs: 60_000, teardownMs: 9_000, phases: { signal: 1_000 }, processes: 2 };
const c: CFloorResult = {
  totalMs: 10_000 * 0.6,
  perSandboxMs: 0.6,
  extrapolatedFrom: { sandboxes: 4_800, reason: "10000 sandboxes need 40064 descriptors; this process may open 20000 (raise the hard limit)" },
  run: { sandboxes: 4_800, setupMs: 70_000, totalMs: 2_880, perSandboxMs: 0.6, phases: { kill_reap: 1_000, ovl_umount: 0, shm_umount: 500, netns_del: 300, cgroup_rmdir: 1_080 }, command: "rawfloor -n 4800 -m 3 -t par -j 2 -c -g 10000 -p pvrfx" },
};

let printed = "";
afterEach(() => {
  vi.restoreAllMocks();
  printed = "";
});

function capture(): void {
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void (printed += `${args.join(" ")}\n`));
  vi.spyOn(console, "error").mockImplementation(() => {});
}

describe("printReport()", () => {
  test("prints both ratios, the costs per sandbox, and says the C floor is extrapolated", () => {
    capture();
    printReport({ sandboxes: 10_000, containers: 3, workload: "graceful", timeoutMs: 10_000, rootfs: false }, [podvisor("process", 15_000)], { own, c });
    expect(printed).toContain("podvisor parallel process (node): 1.500 ms per sandbox; / own floor 1.67×; / C floor 2.50× (extrapolated floor)");
    expect(printed).toMatch(/EXTRAPOLATION: 0\.600 ms per sandbox measured at 4800 \(2880 ms\) × 10000 = 6000 ms/);
    expect(printed).toContain("C floor (from 4800)");
    expect(printed).toContain("0.600 ms (at 4800)");
    expect(printed).toContain("0.900 ms"); // the own floor per sandbox
    expect(printed).toContain("900 / 1200 MiB"); // RSS after setup / peak
    expect(printed).toContain("0.7 / 31.5 ms (140)");
    expect(printed).toContain("15.0 / 120.0 ms (12)");
    expect(printed).toContain("40.0 s + 10.0 s / 500.0 s (daemon 10%)");
  });

  test("compares runc with the process backend of the same run, and says why a floor is missing", () => {
    capture();
    printReport({ sandboxes: 1_000, containers: 3, workload: "slow-exit", timeoutMs: 10_000, rootfs: true }, [podvisor("process", 1_500), podvisor("runc", 2_700)], { cSkipped: "rawfloor has no \"slow-exit\" workload" });
    expect(printed).toContain("runc / process (parallel): 1.80×");
    expect(printed).toContain("C floor: not run: rawfloor has no \"slow-exit\" workload");
    expect(printed).toContain("1000 × 3 slow-exit, rootfs, timeout 10 s");
    expect(printed).not.toContain("/ C floor");
  });

  test("puts the CRI stop beside the JSON-RPC stop-all of the same backend, with its phases and the 1.2× target", () => {
    capture();
    const cri: PodvisorResult = { ...podvisor("process", 1_300), via: "cri", phasesP50Ms: {}, cri: { stopContainersMs: 1_000, stopPodSandboxesMs: 300, containers: 3_000 } };
    const slowCri: PodvisorResult = { ...podvisor("runc", 4_000), via: "cri", phasesP50Ms: {}, cri: { stopContainersMs: 3_000, stopPodSandboxesMs: 1_000, containers: 3_000 } };
    printReport({ sandboxes: 1_000, containers: 3, workload: "graceful", timeoutMs: 10_000, rootfs: true },
      [podvisor("process", 1_200), cri, podvisor("runc", 2_500), slowCri], { cSkipped: "--no-c-floor" });
    expect(printed).toContain("podvisor parallel process via CRI (node)");
    expect(printed).toContain("1000 ms (3000) + 300 ms");
    expect(printed).toContain("CRI / JSON-RPC (process): 1300 ms / 1200 ms = 1.08×; target ≤ 1.2×: HOLDS");
    expect(printed).toContain("CRI / JSON-RPC (runc): 4000 ms / 2500 ms = 1.60×; target ≤ 1.2×: DOES NOT HOLD");
    // runc against process compares like with like: JSON-RPC with JSON-RPC, CRI with CRI.
    expect(printed).toContain("runc / process (parallel): 2.08×");
    expect(printed).toContain("runc / process (parallel, via cri): 3.08×");
  });
});

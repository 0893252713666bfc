/**
 * CPU and memory use of a container or sandbox, read from its cgroup v2 (CRI `ContainerStats`,
 * `PodSandboxStats`): `cpu.stat`'s usage_usec (always there: it is the core's), `memory.current`
 * and `memory.stat`'s inactive_file when the memory controller is enabled; on a host whose memory
 * controller lives on cgroup v1 (the hybrid layout), memory is the sum of the resident sets of the
 * cgroup's processes instead, and `source` says so.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { resolveCgroupPath } from "../host/cgroup-path.ts";

export interface CgroupUsage {
  timestamp: number;
  cpuUsageNanos?: number;
  memoryUsageBytes?: number;
  memoryWorkingSetBytes?: number;
  memoryLimitBytes?: number;
  /** How memory was measured: the memory controller, or the processes' resident sets. */
  memorySource?: "memory.current" | "rss";
  processCount: number;
}

export async function readCgroupUsage(cgroupPath: string): Promise<CgroupUsage | undefined> {
  let dir: string;
  try {
    dir = await resolveCgroupPath(cgroupPath);
  } catch {
    return undefined;
  }
  const procs = await readText(join(dir, "cgroup.procs"));
  if (procs === undefined) return undefined; // gone (removed, or a process-group container)
  const pids = procs.split("\n").filter((line) => line !== "").map(Number);
  const usage: CgroupUsage = { timestamp: Date.now(), processCount: pids.length };
  const usec = /^usage_usec (\d+)$/m.exec((await readText(join(dir, "cpu.stat"))) ?? "")?.[1];
  if (usec !== undefined) usage.cpuUsageNanos = Number(usec) * 1_000;
  const current = await readText(join(dir, "memory.current"));
  if (current !== undefined) {
    usage.memorySource = "memory.current";
    usage.memoryUsageBytes = Number(current.trim());
    const inactive = Number(/^inactive_file (\d+)$/m.exec((await readText(join(dir, "memory.stat"))) ?? "")?.[1] ?? 0);
    usage.memoryWorkingSetBytes = Math.max(0, usage.memoryUsageBytes - inactive);
    const max = (await readText(join(dir, "memory.max")))?.trim();
    if (max !== undefined && max !== "max") usage.memoryLimitBytes = Number(max);
  } else {
    usage.memorySource = "rss";
    let rss = 0;
    for (const pid of pids) rss += await residentBytes(pid);
    usage.memoryUsageBytes = rss;
    usage.memoryWorkingSetBytes = rss;
  }
  return usage;
}

/** Adds the usages of a sandbox's containers (its own cgroup holds nothing but theirs). */
export function sumUsage(usages: CgroupUsage[]): CgroupUsage {
  const sum = (pick: (usage: CgroupUsage) => number | undefined) => {
    const values = usages.map(pick).filter((value): value is number => value !== undefined);
    return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
  };
  return {
    timestamp: Date.now(),
    cpuUsageNanos: sum((usage) => usage.cpuUsageNanos),
    memoryUsageBytes: sum((usage) => usage.memoryUsageBytes),
    memoryWorkingSetBytes: sum((usage) => usage.memoryWorkingSetBytes),
    memorySource: usages[0]?.memorySource,
    processCount: sum((usage) => usage.processCount) ?? 0,
  };
}

async function residentBytes(pid: number): Promise<number> {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec((await readText(`/proc/${pid}/status`)) ?? "")?.[1];
  return kb === undefined ? 0 : Number(kb) * 1_024;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

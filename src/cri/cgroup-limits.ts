/**
 * A container's CPU and memory limits written into its cgroup v2 (CRI `linux.resources`,
 * `UpdateContainerResources`): `cpu.max` ("quota period"), `cpu.weight` (from cpu_shares, the
 * conversion runc and crun use), `memory.max`; and read back for `ContainerStatus`. A host whose
 * cgroup v2 lacks the cpu or memory controller (the hybrid layout keeps them on v1) has none of
 * these files: writing is FAILED_PRECONDITION, said so.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { resolveCgroupPath } from "../host/cgroup-path.ts";
import type { ContainerResources } from "../state/records.ts";
import { CriError } from "./cri-errors.ts";

const defaultPeriod = 100_000;

/** The cgroup files a set of limits writes, in order. */
export function limitFiles(resources: ContainerResources): [file: string, value: string][] {
  const files: [string, string][] = [];
  if (resources.cpuQuota !== undefined || resources.cpuPeriod !== undefined) {
    const period = resources.cpuPeriod ?? defaultPeriod;
    files.push(["cpu.max", `${resources.cpuQuota === undefined ? "max" : resources.cpuQuota} ${period}`]);
  }
  if (resources.cpuShares !== undefined) files.push(["cpu.weight", String(sharesToWeight(resources.cpuShares))]);
  if (resources.memoryLimitInBytes !== undefined) files.push(["memory.max", String(resources.memoryLimitInBytes)]);
  return files;
}

/** cgroup v1 shares [2, 262144] onto v2 weight [1, 10000]. */
export function sharesToWeight(shares: number): number {
  const clamped = Math.min(Math.max(shares, 2), 262_144);
  return 1 + Math.floor(((clamped - 2) * 9_999) / 262_142);
}

export async function writeLimits(cgroupPath: string, resources: ContainerResources, what: string): Promise<void> {
  const dir = await resolveCgroupPath(cgroupPath);
  for (const [file, value] of limitFiles(resources)) {
    try {
      await writeFile(join(dir, file), value);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "EACCES") {
        throw new CriError("FAILED_PRECONDITION", `Cannot ${what}: the container's cgroup has no ${file} (${code === "ENOENT" ? "its cgroup v2 controller is not enabled on this host, or the container is gone" : "not writable"})`);
      }
      if (code === "EINVAL" || code === "ERANGE") throw new CriError("INVALID_ARGUMENT", `Cannot ${what}: ${file} refuses "${value}"`);
      throw error;
    }
  }
}

/** What the cgroup says now, as CRI's LinuxContainerResources; undefined when it has no such files. */
export async function readLimits(cgroupPath: string): Promise<{ cpu_period: number; cpu_quota: number; memory_limit_in_bytes: number } | undefined> {
  let dir: string;
  try {
    dir = await resolveCgroupPath(cgroupPath);
  } catch {
    return undefined;
  }
  const cpu = await readFile(join(dir, "cpu.max"), "utf8").catch(() => undefined);
  const memory = await readFile(join(dir, "memory.max"), "utf8").catch(() => undefined);
  if (cpu === undefined && memory === undefined) return undefined;
  const [quota, period] = (cpu ?? "max 100000").trim().split(" ");
  const limit = (memory ?? "max").trim();
  return { cpu_period: Number(period), cpu_quota: quota === "max" ? 0 : Number(quota), memory_limit_in_bytes: limit === "max" ? 0 : Number(limit) };
}

/**
 * Waiting until every process of the floor runs its workload inside its cgroup: its `comm` is the
 * workload's (no longer the forking subshell or `nsenter`) and its cgroup holds as many processes
 * as the workload has once started (a shell's first child means its trap is set).
 */
import { readFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { findCgroup2Mount } from "../../src/host/cgroup.ts";
import type { WorkloadCommand } from "./floor-workloads.ts";

/** How often the processes not yet started are looked at again. */
const pollIntervalMs = 20;
/** Processes looked at in one go (each costs two small reads). */
const batchSize = 512;

/**
 * Resolves once every process is ready; rejects with the signal's reason (after saying how many
 * were not) when it aborts first.
 *
 * @example
 * await waitForFloorProcesses(host.containers, { signal: AbortSignal.timeout(30_000) });
 */
export async function waitForFloorProcesses(
  processes: readonly { cgroup: string; pid: number; command: WorkloadCommand }[],
  options: { signal: AbortSignal },
): Promise<void> {
  const mount = await findCgroup2Mount();
  let pending = [...processes];
  while (pending.length > 0) {
    const still: typeof pending = [];
    for (let start = 0; start < pending.length; start += batchSize) {
      const batch = pending.slice(start, start + batchSize);
      const ready = await Promise.all(batch.map((entry) => isReady(`${mount}/${entry.cgroup}`, entry.pid, entry.command)));
      still.push(...batch.filter((_, index) => !ready[index]));
    }
    pending = still;
    if (pending.length === 0) return;
    try {
      await delay(pollIntervalMs, undefined, { signal: options.signal });
    } catch (error) {
      const first = pending[0];
      throw new Error(`Cannot start the floor's processes: ${pending.length} not running their workload (first: pid ${first.pid} in ${first.cgroup})`, {
        cause: error,
      });
    }
  }
}

async function isReady(cgroupDir: string, pid: number, command: WorkloadCommand): Promise<boolean> {
  const [comm, procs] = await Promise.all([readText(`/proc/${pid}/comm`), readText(`${cgroupDir}/cgroup.procs`)]);
  if (comm.trim() !== command.comm) return false;
  const members = procs.split("\n").filter((line) => line !== "");
  return members.includes(String(pid)) && members.length >= command.minProcesses;
}

async function readText(path: string): Promise<string> {
  return readFile(path, "utf8").catch(() => "");
}

import { readdir, readFile } from "node:fs/promises";

/** A process's resident memory in MiB (`VmRSS` of /proc/<pid>/status). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`Cannot read the RSS of process ${pid}: no VmRSS line`);
  return Number(kib) / 1024;
}

/** How many descriptors a process has open. */
export async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/**
 * Samples `rssMiB(pid)` every `everyMs` until `stop()`; returns the highest value seen.
 *
 * @example
 * const peak = samplePeakRss(daemon.child.pid!);
 * await hostileWork();
 * const highest = await peak.stop();
 */
export function samplePeakRss(pid: number, everyMs = 50): { stop(): Promise<number> } {
  let peak = 0;
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(async () => {
      peak = Math.max(peak, await rssMiB(pid).catch(() => 0));
    });
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await sampling;
      peak = Math.max(peak, await rssMiB(pid).catch(() => 0));
      return peak;
    },
  };
}

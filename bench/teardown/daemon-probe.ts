import { readFile } from "node:fs/promises";

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux/x86). */
const ticksPerSecond = 100;

/** What /proc says of one process: memory now and at its peak, CPU time in ms. */
export interface ProcessProbe {
  rssBytes: number;
  peakRssBytes: number;
  /** utime + stime of all its threads. */
  cpuMs: number;
  /** cutime + cstime: CPU time of its children that it has waited for (the `unshare`, `mount` … it forked). */
  childrenCpuMs: number;
}

/** Resident memory now and at its peak, and CPU time used, of a process (from /proc). */
export async function probeProcess(pid: number): Promise<ProcessProbe> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1_024;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After ")": state(0) … utime(11) stime(12) cutime(13) cstime(14).
  const ms = (...indexes: number[]) => indexes.reduce((sum, index) => sum + Number(fields[index]), 0) * (1_000 / ticksPerSecond);
  return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM"), cpuMs: ms(11, 12), childrenCpuMs: ms(13, 14) };
}

/**
 * CPU time the whole machine has spent busy (every state of /proc/stat's `cpu` line but idle and
 * iowait, and the hypervisor's steal), in ms summed over its cores: the difference of two readings is what a phase cost the
 * machine — with whatever else ran meanwhile.
 */
export async function machineBusyCpuMs(): Promise<number> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n").find((text) => text.startsWith("cpu ")) ?? "";
  // user nice system idle iowait irq softirq steal …; guest time is inside user already, steal is not ours.
  const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq) * (1_000 / ticksPerSecond);
}

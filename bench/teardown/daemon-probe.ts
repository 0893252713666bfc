import { readFile } from "node:fs/promises";

/** Resident memory now and at its peak, and CPU time used, of a process (from /proc). */
export async function probeProcess(pid: number): Promise<{ rssBytes: number; peakRssBytes: number; cpuMs: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1_024;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100 Hz here)
  return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM"), cpuMs: ticks * 10 };
}

/**
 * Processes a crash trial tracks: each by pid and start time, so that a pid the kernel reuses for an
 * unrelated process is never taken for a leaked one (nor killed by the trial's cleanup).
 */
import { readFile } from "node:fs/promises";
import { cgroupPids } from "../../src/host/cgroup.ts";

export interface ProcessIdentity {
  pid: number;
  /** Field 22 of `/proc/<pid>/stat`: clock ticks after boot. With the pid, names one process. */
  startTime: string;
  /** Its command name, for the report. */
  comm: string;
}

interface ProcStat {
  comm: string;
  state: string;
  startTime: string;
}

async function readStat(pid: number): Promise<ProcStat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const close = text.lastIndexOf(")");
  const fields = text.slice(close + 2).split(" "); // fields[0] is field 3, the state
  return { comm: text.slice(text.indexOf("(") + 1, close), state: fields[0], startTime: fields[19] };
}

/**
 * Every process in a cgroup tree now, by identity; one that exits between the listing and its
 * `/proc` read is left out (it is gone already).
 */
export async function processesInCgroup(path: string): Promise<ProcessIdentity[]> {
  const found = await Promise.all((await cgroupPids(path)).map(async (pid) => {
    const stat = await readStat(pid);
    return stat === undefined ? undefined : { pid, startTime: stat.startTime, comm: stat.comm };
  }));
  return found.filter((identity) => identity !== undefined);
}

/**
 * Whether this very process still runs. A zombie does not: it was killed, and an orphan's zombie
 * waits for the host's init to reap it, which is outside podvisor's reach.
 */
export async function isStillRunning(identity: ProcessIdentity): Promise<boolean> {
  const stat = await readStat(identity.pid);
  return stat !== undefined && stat.startTime === identity.startTime && stat.state !== "Z";
}

/** The tracked processes still running. */
export async function stillRunning(identities: Iterable<ProcessIdentity>): Promise<ProcessIdentity[]> {
  const all = [...identities];
  const running = await Promise.all(all.map(isStillRunning));
  return all.filter((_, index) => running[index]);
}

/** SIGKILLs each tracked process that still runs (checked just before, so never a reused pid). */
export async function killTracked(identities: Iterable<ProcessIdentity>): Promise<number> {
  let killed = 0;
  for (const identity of await stillRunning(identities)) {
    try {
      process.kill(identity.pid, "SIGKILL");
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}

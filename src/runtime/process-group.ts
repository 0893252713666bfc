/**
 * The fallback when cgroup v2 cannot be used (no cgroup2 mount, no permission): the container is
 * its own process group (spawned detached), killed with `kill(-pgid)`. Weaker than a cgroup, and
 * said so once in the log: a child that calls setsid() or setpgid() leaves the group and escapes
 * kill-all; emptiness is found by polling, not by an event; and once every member of the group
 * is gone and reaped, its number could in principle be taken by an unrelated new group, which a
 * later `kill(-pgid)` would hit (the cgroup path has no such window).
 */
import { readFile, readdir } from "node:fs/promises";

/**
 * Whether any live process is left in the process group. Zombies do not count: orphans are reaped
 * by PID 1, which on some hosts takes a second, and a zombie runs nothing. The pgid cannot be reused
 * while a zombie of the group remains.
 */
export async function isProcessGroupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as { code?: unknown }).code !== "ESRCH";
  }
  return (await processGroupMembers(pgid)).some((member) => member.state !== "Z");
}

/** SIGKILL to every process of the group; a group already gone is success. */
export function killProcessGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ESRCH") throw error;
  }
}

export interface WaitForProcessGroupEmptyOptions {
  /** How often the group is checked: it has no event to watch. */
  intervalMs: number;
  signal?: AbortSignal;
}

/** Resolves when no live process is left in the group; honours the signal and leaves no timer. */
export function waitForProcessGroupEmpty(pgid: number, options: WaitForProcessGroupEmptyOptions): Promise<void> {
  const { intervalMs, signal } = options;
  return new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => settle(signal?.reason);
    const check = (): void => {
      isProcessGroupAlive(pgid).then((alive) => {
        if (!alive) return settle();
        if (!settled) timer = setTimeout(check, intervalMs);
      }, settle);
    };
    if (signal?.aborted === true) return reject(signal.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    check();
  });
}

/** The pids whose process group is `pgid`, zombies included, ascending. */
export async function processGroupPids(pgid: number): Promise<number[]> {
  return (await processGroupMembers(pgid)).map((member) => member.pid);
}

/** Every process of the group with its state letter. */
async function processGroupMembers(pgid: number): Promise<Member[]> {
  return (await scanProcesses()).filter((member) => member.pgid === pgid);
}

interface Member {
  pid: number;
  pgid: number;
  state: string;
}

let scanInFlight: Promise<Member[]> | undefined;

/**
 * Every process on the host from `/proc/<pid>/stat`, ascending. Callers that ask while a scan is
 * running share it, so a hundred containers polling cost one scan per round, not a hundred.
 */
function scanProcesses(): Promise<Member[]> {
  scanInFlight ??= (async () => {
    try {
      const members: Member[] = [];
      for (const name of await readdir("/proc")) {
        if (!/^\d+$/.test(name)) continue;
        const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
        // Fields after the command name, which may hold spaces and parentheses: state ppid pgrp …
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (fields.length > 2) members.push({ pid: Number(name), pgid: Number(fields[2]), state: fields[0] });
      }
      return members.sort((a, b) => a.pid - b.pid);
    } finally {
      scanInFlight = undefined;
    }
  })();
  return scanInFlight;
}

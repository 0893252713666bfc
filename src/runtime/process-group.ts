/**
 * The fallback when cgroup v2 cannot be used (no cgroup2 mount, no permission): the container is
 * its own process group (spawned detached), killed with `kill(-pgid)`. Weaker than a cgroup, and
 * said so once in the log: a child that calls setsid() or setpgid() leaves the group and escapes
 * kill-all, and emptiness is found by polling, not by an event.
 */
import { readFile, readdir } from "node:fs/promises";

/** Whether any process is left in the process group (zombies not yet reaped count). */
export function isProcessGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== "ESRCH";
  }
}

/** SIGKILL to every process of the group; a group already gone is success. */
export function killProcessGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ESRCH") throw error;
  }
}

/** Resolves when the group is empty, reading it every `intervalMs`; honours the signal, leaves no timer. */
export function waitForProcessGroupEmpty(pgid: number, intervalMs: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const check = (): void => {
      if (isProcessGroupAlive(pgid)) {
        timer = setTimeout(check, intervalMs);
        return;
      }
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    check();
  });
}

/** The pids whose process group is `pgid`, read from `/proc/<pid>/stat`, ascending. */
export async function processGroupPids(pgid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    // Fields after the command name, which may hold spaces and parentheses: state ppid pgrp …
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid) pids.push(Number(name));
  }
  return pids.sort((a, b) => a - b);
}

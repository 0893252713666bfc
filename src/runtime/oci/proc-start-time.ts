/**
 * A process's start time (field 22 of `/proc/<pid>/stat`, clock ticks since boot): with the pid, it
 * names one process for good, so a signal is never sent to a later process that reused the pid.
 */
import { readFile } from "node:fs/promises";

/**
 * The start time of `pid`, or undefined when no such process lives (a zombie counts as gone).
 *
 * @example
 * const started = await readProcStartTime(4242); // "123456"
 */
export async function readProcStartTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return undefined;
  return fields[19];
}

/**
 * Sends `signal` to `pid` only if it is still the process that started at `startTime`. Resolves
 * false when that process is gone (gone is not an error here).
 */
export async function signalIfSame(pid: number, startTime: string, signal: NodeJS.Signals): Promise<boolean> {
  if ((await readProcStartTime(pid)) !== startTime) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

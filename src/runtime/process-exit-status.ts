/**
 * A held process's exit status as the process holder (`process-holder.pl`) keeps it: the raw wait
 * status, in a line to the daemon and in the container's exit file, which outlives the daemon.
 */
import { readFile } from "node:fs/promises";
import { constants } from "node:os";

/** Signal names by number (thousands of exits are decoded in a moment at a stop). */
const signalNames = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

/** A raw wait status as `waitpid(2)` gives it: an exit code, or the signal that ended the process. */
export function decodeWaitStatus(status: number): { exitCode?: number; signal?: NodeJS.Signals } {
  const signo = status & 0x7f;
  if (signo === 0) return { exitCode: (status >> 8) & 0xff };
  return { signal: (signalNames.get(signo) ?? `SIG${signo}`) as NodeJS.Signals };
}

/** How long an adopted container's exit status is waited for once its cgroup is empty (see below). */
const exitFileWaitMs = 1_000;

/**
 * The exit of a process an earlier daemon's holder started, from the file that holder writes when it
 * reaps it (see `process-holder.pl`), or undefined if there is none within a short wait: the cgroup
 * empties when the process ends, a moment before the holder reaps it and writes the file; a holder
 * that was killed too never writes it.
 */
export async function readHeldExit(exitPath: string, options: { waitMs?: number } = {}): Promise<ReturnType<typeof decodeWaitStatus> | undefined> {
  const giveUpAt = Date.now() + (options.waitMs ?? exitFileWaitMs);
  for (;;) {
    const text = await readFile(exitPath, "utf8").catch(() => undefined);
    // Empty until the holder writes it at the exit; whole only with its newline.
    const status = text === undefined || !text.endsWith("\n") ? Number.NaN : Number.parseInt(text, 10);
    if (Number.isSafeInteger(status) && status >= 0) return decodeWaitStatus(status);
    if (Date.now() >= giveUpAt) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { join } from "node:path";
import { isNotFound, readPopulated } from "./cgroup-fs.ts";
import { resolveCgroupPath } from "./cgroup-path.ts";

/** How often `cgroup.events` is read when it cannot be watched. */
export const defaultCgroupPollIntervalMs = 20;
/** How often it is read anyway while watched: a safety net, not the way the change is found. */
const watchedRecheckMs = 250;

export interface WaitForCgroupEmptyOptions {
  /** Stops waiting; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Read `cgroup.events` on a timer instead of watching it (the fallback when watching fails). */
  poll?: boolean;
  pollIntervalMs?: number;
}

/**
 * Resolves once no process is left in the cgroup or below it (`populated 0` in `cgroup.events`),
 * or the cgroup is gone. Watches `cgroup.events` (the kernel sends a modify event when `populated`
 * flips) and falls back to polling when the watch cannot be set up. When it settles, by success,
 * failure or abort, no watcher and no timer is left behind.
 *
 * @example
 * await killCgroup(path);
 * await waitForCgroupEmpty(path, { signal: AbortSignal.timeout(2_000) });
 */
export async function waitForCgroupEmpty(path: string, options: WaitForCgroupEmptyOptions = {}): Promise<void> {
  const dir = await resolveCgroupPath(path);
  const { signal } = options;
  const intervalMs = options.pollIntervalMs ?? defaultCgroupPollIntervalMs;
  signal?.throwIfAborted();
  // Usually it is empty already (the wait starts once the main process has exited): one read, and
  // no watch to set up — 4,000 watches set up and torn down at once held a stop's event loop ~200 ms.
  if (!(await readPopulated(dir))) return;
  signal?.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    let watcher: FSWatcher | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    let checking = false;
    let recheck = false;

    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      watcher?.close();
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => settle(signal?.reason);

    // Reads cgroup.events; events that arrive while a read is in flight coalesce into one more read.
    const check = async (): Promise<void> => {
      if (checking) {
        recheck = true;
        return;
      }
      checking = true;
      try {
        do {
          recheck = false;
          if (!(await readPopulated(dir))) settle();
        } while (recheck && !settled);
      } catch (error) {
        settle(error);
      } finally {
        checking = false;
      }
    };
    const poll = (everyMs: number): void => {
      if (settled || timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        void check().then(() => poll(everyMs));
      }, everyMs);
    };

    signal?.addEventListener("abort", onAbort, { once: true });
    if (options.poll !== true) {
      try {
        // The watch is set up before the first read, so a flip between the two is not missed.
        watcher = watch(join(dir, "cgroup.events"), () => void check());
        watcher.on("error", () => {
          watcher?.close();
          watcher = undefined;
          clearTimeout(timer);
          timer = undefined;
          poll(intervalMs);
        });
      } catch (error) {
        if (isNotFound(error)) return settle();
        watcher = undefined;
      }
    }
    // Watching, it also reads on a slow timer: an event missed (its cause, once suspected in a loaded
    // run on Deno, is not known) then costs a fraction of a second instead of the whole wait.
    void check().then(() => poll(watcher === undefined ? intervalMs : watchedRecheckMs));
  });
}

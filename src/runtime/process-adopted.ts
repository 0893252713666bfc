import { cgroupPids } from "../host/cgroup.ts";
import { waitForCgroupEmpty } from "../host/cgroup-wait.ts";
import type { Exit } from "./process-main.ts";

/**
 * A container's main process that an earlier daemon process started, found again after a restart
 * (`--live-restore`, or a crash). It is no longer our child, so:
 *
 * - it is found and signalled through its cgroup, never by pid alone: a pid is signalled only while
 *   it is listed in the container's own `cgroup.procs`. A pid reused by an unrelated process cannot be
 *   there — a process enters a cgroup only by being moved or by forking inside it, and podvisor moves
 *   nothing into a container's cgroup after start. (What is left: the few microseconds between reading
 *   `cgroup.procs` and `kill(2)`, which only a pidfd would close; Node and Deno have none.)
 * - it "exits" when its cgroup is empty, and its exit status is unknown: the kernel gives it to the
 *   parent only, and the parent was the earlier daemon. The record says so (`exitCodeUnknown`); it
 *   never says "running" for a container that is gone. Keeping the status across restarts needs a
 *   per-container holder of it (a shim, like conmon); podvisor has none yet.
 */
export class AdoptedProcess {
  readonly pid: number;
  readonly startedAt: number;
  /** Resolves once nothing is left in the container's cgroup; never rejects. */
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #cgroupPath: string;
  #watch = new AbortController();

  constructor(options: { pid: number; startedAt: number; cgroupPath: string }) {
    this.pid = options.pid;
    this.startedAt = options.startedAt;
    this.#cgroupPath = options.cgroupPath;
    this.exited = waitForCgroupEmpty(options.cgroupPath, { signal: this.#watch.signal }).then(
      () => (this.#exit = { finishedAt: Date.now(), exitCodeUnknown: true }),
      () => new Promise<Exit>(() => {}), // released: nobody waits any more
    );
  }

  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** Sends a signal to the main process while it is still in the container's cgroup; else a no-op. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    if (this.#exit !== undefined || !(await cgroupPids(this.#cgroupPath)).includes(this.pid)) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ESRCH") throw error;
    }
  }

  /** Stops watching the cgroup (the container is forgotten). */
  release(): void {
    this.#watch.abort();
  }
}

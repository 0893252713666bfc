import { cgroupPids, killCgroup } from "../host/cgroup.ts";
import { resolveCgroupPath } from "../host/cgroup-path.ts";
import { waitForCgroupEmpty } from "../host/cgroup-wait.ts";
import { getLogger } from "../log/logger.ts";
import { readHeldExit } from "./process-exit-status.ts";
import { HolderLostError } from "./process-holder.ts";
import type { ProcessHolder } from "./process-holder.ts";
import type { Exit } from "./process-main.ts";

const log = getLogger("runtime:process");
let unwatchableLogged = false;
/** How many holders in a row may be lost under one watch before it is given up. */
const watchAttempts = 3;

export interface AdoptedProcessOptions {
  pid: number;
  startedAt: number;
  cgroupPath: string;
  /** Where its holder writes its exit status; none when its holder is known to be gone. */
  exitPath?: string;
  /**
   * A holder of this daemon's to watch the main process with, so that what it leaves behind dies with
   * it (the main-exit rule). Without one, the container ends only when its cgroup empties — right for
   * a process whose own holder still lives (that holder kills the rest when it reaps it).
   */
  holder?: ProcessHolder;
}

/**
 * A container's main process that an earlier daemon process started, found again after a restart
 * (`--live-restore`, or a crash), or our own whose holder was killed. It is no longer our child, so:
 *
 * - it is found and signalled through its cgroup, never by pid alone: a pid is signalled only while
 *   it is listed in the container's own `cgroup.procs`. A pid reused by an unrelated process cannot be
 *   there — a process enters a cgroup only by being moved or by forking inside it, and podvisor moves
 *   nothing into a container's cgroup after start. (What is left: the few microseconds between reading
 *   `cgroup.procs` and `kill(2)`, which only a pidfd would close; Node and Deno have none.)
 * - it is a container's main process, so what it leaves behind dies with it: its own holder kills the
 *   rest of its cgroup when it reaps it; if that holder is gone, a holder of ours watches it (a pidfd)
 *   and does the same. So the container "exits" when its cgroup is empty, right after its main
 *   process has; its exit status went to its parent, the earlier daemon's
 *   process holder, which outlives that daemon and writes it to the container's exit file (see
 *   `process-holder.ts`). If there is none — the holder was killed too — the status is unknown, and
 *   the record says so (`exitCodeUnknown`); it never says "running" for a container that is gone.
 */
export class AdoptedProcess {
  readonly pid: number;
  readonly startedAt: number;
  /** Resolves once nothing is left in the container's cgroup; never rejects. */
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #cgroupPath: string;
  #watch = new AbortController();

  constructor(options: AdoptedProcessOptions) {
    this.pid = options.pid;
    this.startedAt = options.startedAt;
    this.#cgroupPath = options.cgroupPath;
    const { exitPath, holder } = options;
    if (holder !== undefined) void this.#endWithMain(holder);
    this.exited = waitForCgroupEmpty(options.cgroupPath, { signal: this.#watch.signal }).then(
      async () => {
        const finishedAt = Date.now();
        const held = exitPath === undefined ? undefined : await readHeldExit(exitPath);
        return (this.#exit = held === undefined ? { finishedAt, exitCodeUnknown: true } : { ...held, finishedAt });
      },
      () => new Promise<Exit>(() => {}), // released: nobody waits any more
    );
  }

  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** Sends a signal to the main process while it is still in the container's cgroup; else a no-op. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    if (this.#exit !== undefined) return;
    await signalCgroupMember(this.#cgroupPath, this.pid, signal);
  }

  /** Stops watching the cgroup (the container is forgotten). */
  release(): void {
    this.#watch.abort();
  }

  /**
   * The main-exit rule for a process that is not our holder's child: the holder watches it (a pidfd)
   * and kills the rest of its cgroup when it is gone; the cgroup then empties, which ends the wait
   * above. Where that cannot be done, the container ends only when its cgroup empties, said in the log.
   */
  async #endWithMain(holder: ProcessHolder): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const left = await holder.watch(this.pid, await resolveCgroupPath(this.#cgroupPath));
        if (!left.cgroupEmpty && !left.leftoversKilled && !this.#watch.signal.aborted) await killCgroup(this.#cgroupPath);
        return;
      } catch (error) {
        if (this.#watch.signal.aborted) return;
        const lost = error instanceof HolderLostError;
        if (lost && error.released) return; // the daemon is letting go of its containers
        if (lost && attempt < watchAttempts) continue; // a holder killed under the watch: the next one watches
        if (unwatchableLogged) return;
        unwatchableLogged = true;
        log.warn("Cannot watch an adopted container's main process: what it leaves behind lives on until killed", { pid: this.pid, error });
        return;
      }
    }
  }
}

/**
 * Sends a signal to `pid` only while it is listed in the cgroup's own `cgroup.procs`: a reused pid
 * cannot be there (see {@link AdoptedProcess}). For a process that is not our holder's child any more.
 */
export async function signalCgroupMember(cgroupPath: string, pid: number, signal: NodeJS.Signals): Promise<void> {
  if (!(await cgroupPids(cgroupPath)).includes(pid)) return;
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ESRCH") throw error;
  }
}

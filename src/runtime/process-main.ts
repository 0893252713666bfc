import { appendFile } from "node:fs/promises";
import { CodedError } from "../errors/coded-error.ts";
import { killCgroup } from "../host/cgroup.ts";
import { getLogger } from "../log/logger.ts";
import { AdoptedProcess, signalCgroupMember } from "./process-adopted.ts";
import * as group from "./process-group.ts";
import { decodeWaitStatus } from "./process-exit-status.ts";
import { HolderLostError } from "./process-holder.ts";
import type { HeldExit, HeldProcess, ProcessHolder } from "./process-holder.ts";
import type { ContainerSpec } from "./runtime-backend.ts";
import { holderCommand } from "./process-holder-command.ts";

const log = getLogger("runtime:process");

/** How the main process ended: by itself (`exitCode`) or by a signal (`signal`). */
export interface Exit {
  exitCode?: number;
  signal?: NodeJS.Signals;
  /** Epoch ms. */
  finishedAt: number;
  /** The process was not our child (adopted after a restart): how it ended cannot be known. */
  exitCodeUnknown?: boolean;
}

/** Where a container is, for when its holder is lost: its cgroup, or else its process group. */
export interface MainProcessPlace {
  /** Relative to the cgroup2 mount; undefined for a process-group container. */
  cgroupPath?: string;
  /** Where the holder writes its exit status. */
  exitPath: string;
  groupPollIntervalMs: number;
}

/**
 * A container's main process. It is the process holder's child (see `process-holder.ts`), so its
 * exit status comes from its own reaped exit (never from `kill -0 pid`, which a reused pid would
 * fool), and it is signalled through the holder, which signals only a child it has not reaped yet,
 * whose pid cannot belong to anyone else. Should the holder be lost first, the exit status cannot
 * be known: the process is then watched like an adopted one (`process-adopted.ts`), through its
 * cgroup, and its exit says `exitCodeUnknown`.
 *
 * @example
 * const main = await MainProcess.spawn(holder, spec, "/sys/fs/cgroup/unified/x/cgroup.procs", place);
 * await main.signal("SIGTERM");
 * const { exitCode, signal } = await main.exited;
 */
export class MainProcess {
  readonly pid: number;
  /** Epoch ms. */
  readonly startedAt: number;
  /** Resolves once the process has exited and been reaped (or, holder lost, once it is gone); never rejects. */
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #cgroupEmptyAtExit = false;
  #held: HeldProcess;
  #holder: ProcessHolder;
  #orphan: AdoptedProcess | undefined;
  #place: MainProcessPlace;

  private constructor(held: HeldProcess, holder: ProcessHolder, place: MainProcessPlace) {
    this.pid = held.pid;
    this.startedAt = Date.now();
    this.#held = held;
    this.#holder = holder;
    this.#place = place;
    this.exited = held.exited.then(
      (held) => {
        this.#cgroupEmptyAtExit = held.cgroupEmpty;
        if (!held.cgroupEmpty && !held.leftoversKilled) this.#killLeftovers(held);
        return (this.#exit = { ...decodeWaitStatus(held.status), finishedAt: Date.now() });
      },
      async (error: unknown) => (this.#exit = await this.#watchOrphan(error)),
    );
  }

  /**
   * Starts `spec`'s command through the holder (log, cgroup, netns, rootfs; see `process-holder-command.ts`),
   * in a session of its own, so signals meant for the daemon's terminal never reach it. Rejects with
   * code `START_FAILED` when it cannot be started at all (its working directory is missing, say).
   */
  static async spawn(holder: ProcessHolder, spec: ContainerSpec, cgroupProcsFile: string | undefined, place: MainProcessPlace): Promise<MainProcess> {
    await appendFile(spec.logPath, ""); // an unwritable log fails here, not silently in the holder
    const request = await holderCommand(spec, cgroupProcsFile);
    try {
      return new MainProcess(await holder.spawn(request), holder, place);
    } catch (error) {
      if (!(error instanceof CodedError)) throw error;
      throw new CodedError("START_FAILED", `Cannot start container "${spec.id}": ${error.message}`, { details: { id: spec.id } });
    }
  }

  /** Its holder saw its cgroup empty when it reaped it: nothing of it can still run. */
  get cgroupEmptyAtExit(): boolean {
    return this.#cgroupEmptyAtExit;
  }

  /** How it ended, once it has exited and been reaped. */
  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** Sends a signal while the process has not been reaped; after that it is a no-op. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    if (this.#exit !== undefined) return;
    if (this.#orphan !== undefined) return this.#orphan.signal(signal);
    try {
      await this.#held.signal(signal);
    } catch (error) {
      // Its holder is gone or was let go (the daemon shutting down with it running): not our child
      // any more, so only through what cannot be a reused pid — its cgroup, or (weaker) its group.
      if (!(error instanceof HolderLostError)) throw error;
      const { cgroupPath } = this.#place;
      if (cgroupPath !== undefined) await signalCgroupMember(cgroupPath, this.pid, signal);
      else await signalGroupLeader(this.pid, signal);
    }
  }

  /**
   * The main-exit rule, where the holder could not apply it (it kills what the main process left behind
   * as it reaps it; see `process-holder.pl`): the daemon kills the rest itself.
   */
  #killLeftovers(held: HeldExit): void {
    const { cgroupPath } = this.#place;
    log.warn("The process holder did not kill what a container's main process left behind; killing it from the daemon", { pid: this.pid, status: held.status });
    const kill = cgroupPath === undefined ? Promise.resolve().then(() => group.killProcessGroup(this.pid)) : killCgroup(cgroupPath);
    kill.catch((error: unknown) => log.error("Cannot kill what a container's main process left behind", { pid: this.pid, error }));
  }

  /** The holder ended before the process did: watch its cgroup (or process group) instead. */
  async #watchOrphan(error: unknown): Promise<Exit> {
    const released = error instanceof HolderLostError && error.released;
    if (!released) log.error("Lost a container's exit status with its process holder; watching its processes instead", { pid: this.pid, error });
    const { cgroupPath } = this.#place;
    if (cgroupPath !== undefined) {
      // A released holder writes the status to the exit file before it ends; a killed one may not have.
      // A released holder ends only after its last child: it killed what this one left behind. A killed
      // one did not: a holder of ours watches the main process, so the rest still dies with it.
      const holder = released ? undefined : this.#holder;
      this.#orphan = new AdoptedProcess({ pid: this.pid, startedAt: this.startedAt, cgroupPath, exitPath: this.#place.exitPath, holder });
      return this.#orphan.exited;
    }
    await group.waitForProcessGroupEmpty(this.pid, { intervalMs: this.#place.groupPollIntervalMs });
    return { finishedAt: Date.now(), exitCodeUnknown: true };
  }
}

/** Without a holder or a cgroup, only while its process group lives (the weaker fallback's rule). */
async function signalGroupLeader(pid: number, signal: NodeJS.Signals): Promise<void> {
  if (!(await group.isProcessGroupAlive(pid))) return;
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ESRCH") throw error;
  }
}

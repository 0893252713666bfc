import { appendFile } from "node:fs/promises";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { CodedError } from "../actor-system/errors.ts";
import type { ContainerSpec } from "./runtime-backend.ts";
import { wrapperCommand } from "./process-wrapper.ts";

/** How the main process ended: by itself (`exitCode`) or by a signal (`signal`). */
export interface Exit {
  exitCode?: number;
  signal?: NodeJS.Signals;
  /** Epoch ms. */
  finishedAt: number;
  /** The process was not our child (adopted after a restart): how it ended cannot be known. */
  exitCodeUnknown?: boolean;
}

/**
 * A container's main process. It is our own child, so its exit status comes from its own exit
 * (never from `kill -0 pid`, which a reused pid would fool), and it is signalled only until it has
 * been reaped, while its pid cannot belong to anyone else.
 *
 * @example
 * const main = await MainProcess.spawn(spec, "/sys/fs/cgroup/unified/x/cgroup.procs");
 * main.signal("SIGTERM");
 * const { exitCode, signal } = await main.exited;
 */
export class MainProcess {
  readonly pid: number;
  /** Epoch ms. */
  readonly startedAt: number;
  /** Resolves once the process has exited and been reaped; never rejects. */
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #reaped = false;

  private constructor(subprocess: ResultPromise, pid: number) {
    this.pid = pid;
    this.startedAt = Date.now();
    // "exit" comes synchronously with the reap on Node; from then on the pid may be reused.
    subprocess.once("exit", () => (this.#reaped = true));
    this.exited = subprocess.then((result) => {
      this.#exit = { exitCode: result.exitCode, signal: result.signal, finishedAt: Date.now() };
      return this.#exit;
    });
  }

  /**
   * Spawns `spec`'s command through the wrapper (log, cgroup, netns, rootfs; see `process-wrapper.ts`)
   * as a detached child: its own session, so signals meant for the daemon's terminal never reach it.
   * Rejects with code `START_FAILED` when not even the wrapper can be spawned.
   */
  static async spawn(spec: ContainerSpec, cgroupProcsFile: string | undefined): Promise<MainProcess> {
    await appendFile(spec.logPath, ""); // an unwritable log fails here, not silently in the wrapper
    const { file, args, cwd, env } = await wrapperCommand(spec, cgroupProcsFile);
    const subprocess = execa(file, args, {
      cwd,
      env,
      extendEnv: false,
      reject: false,
      detached: true,
      stdio: "ignore", // no pipe: a forked child holding one open could delay the exit status
      forceKillAfterDelay: false, // escalation is the caller's decision (and never fires on Deno)
    });
    if (subprocess.pid === undefined) {
      const result = await subprocess;
      throw new CodedError("START_FAILED", `Cannot start container "${spec.id}": ${result.shortMessage}`, {
        details: { id: spec.id },
      });
    }
    return new MainProcess(subprocess, subprocess.pid);
  }

  /** How it ended, once it has exited and been reaped. */
  get exit(): Exit | undefined {
    return this.#exit;
  }

  /**
   * Sends a signal by pid, only while the process has not been reaped; after that it is a no-op.
   * Not `subprocess.kill()`: on Deno that records the signal as the exit cause whatever really ended
   * the process, and drops every signal after the first (seen with Deno 2.9).
   */
  signal(signal: NodeJS.Signals): void {
    if (this.#reaped) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ESRCH") throw error;
    }
  }
}

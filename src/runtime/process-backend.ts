import { appendFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { CodedError } from "../actor-system/errors.ts";
import type { ResultPromise } from "execa";
import { cgroupPids, createCgroup, isPopulated, killCgroup } from "../host/cgroup.ts";
import { removeCgroup } from "../host/cgroup-remove.ts";
import { waitForCgroupEmpty } from "../host/cgroup-wait.ts";
import { getLogger } from "../log/logger.ts";
import * as group from "./process-group.ts";
import { wrapperCommand } from "./process-wrapper.ts";
import type { AdoptionRecord, ContainerSpec, ContainerState, RuntimeBackend, StartResult } from "./runtime-backend.ts";
import type { WaitForStoppedOptions } from "./runtime-backend.ts";
import * as errors from "./runtime-errors.ts";
import { abortable } from "./runtime-errors.ts";
import { validateContainerSpec } from "./runtime-spec.ts";

const log = getLogger("runtime:process");

/** How often a process group is checked for emptiness (it has no event to watch). */
export const defaultGroupPollIntervalMs = 10;

export interface ProcessBackendOptions {
  /** Use process groups even where cgroup v2 works: for tests, and to compare the two. */
  forceProcessGroup?: boolean;
  groupPollIntervalMs?: number;
}

interface Exit {
  exitCode?: number;
  signal?: NodeJS.Signals;
  finishedAt: number;
}

interface Container {
  spec: ContainerSpec;
  mode: "cgroup" | "process-group";
  /** The cgroup's absolute directory, in cgroup mode. */
  cgroupDir?: string;
  subprocess?: ResultPromise;
  started?: StartResult;
  /** Set synchronously by the child's "exit" event: from then on its pid may belong to another process. */
  reaped?: boolean;
  /** Resolves when the main process has exited and been reaped: its own exit, never `kill -0`. */
  exited?: Promise<Exit>;
  exit?: Exit;
}

/**
 * The default backend: each container's command is a host process, our own child (so its exit status
 * comes from its own exit and PID reuse cannot fool us), placed in its own cgroup v2 before it execs
 * the command (so no child it forks escapes `cgroup.kill`). Where cgroup v2 cannot be used, the
 * container is a process group instead, which is said once in the log (see `process-group.ts`).
 *
 * @example
 * const runtime = new ProcessBackend();
 * await runtime.create({ id: "c1", command: ["sleep", "60"], logPath, cgroupPath: "podvisor-x/pod-1/ctr-c1" });
 * await runtime.start("c1");
 * await runtime.signal("c1");
 * await runtime.waitForStopped("c1", { signal: AbortSignal.timeout(10_000) });
 */
export class ProcessBackend implements RuntimeBackend {
  readonly name = "process";
  #containers = new Map<string, Container>();
  #forceProcessGroup: boolean;
  #pollIntervalMs: number;
  #fallbackLogged = false;

  constructor(options: ProcessBackendOptions = {}) {
    this.#forceProcessGroup = options.forceProcessGroup ?? false;
    this.#pollIntervalMs = options.groupPollIntervalMs ?? defaultGroupPollIntervalMs;
  }

  async create(spec: ContainerSpec): Promise<void> {
    validateContainerSpec(spec);
    if (this.#containers.has(spec.id)) {
      throw new CodedError("ALREADY_EXISTS", `Cannot create container "${spec.id}": it exists already`);
    }
    const container: Container = { spec, mode: "cgroup" };
    this.#containers.set(spec.id, container); // taken at once, so a concurrent create of the same id fails
    try {
      container.cgroupDir = await this.#createCgroup(spec);
      if (container.cgroupDir === undefined) container.mode = "process-group";
      await mkdir(dirname(spec.logPath), { recursive: true });
    } catch (error) {
      this.#containers.delete(spec.id);
      throw error;
    }
  }

  async start(id: string): Promise<StartResult> {
    const container = this.#get(id);
    if (container.subprocess !== undefined) throw errors.failedPrecondition(`Cannot start container "${id}": it was started already`, id);
    const { spec } = container;
    await appendFile(spec.logPath, ""); // an unwritable log fails here, not silently in the wrapper
    const procs = container.cgroupDir === undefined ? undefined : join(container.cgroupDir, "cgroup.procs");
    const { file, args, cwd, env } = await wrapperCommand(spec, procs);
    const subprocess = execa(file, args, {
      cwd, env, extendEnv: false, reject: false, detached: true, stdio: "ignore", forceKillAfterDelay: false,
    });
    container.subprocess = subprocess;
    if (subprocess.pid === undefined) {
      const result = await subprocess;
      throw new CodedError("START_FAILED", `Cannot start container "${id}": ${result.shortMessage}`, { details: { id } });
    }
    container.started = { pid: subprocess.pid, startedAt: Date.now() };
    subprocess.once("exit", () => (container.reaped = true));
    container.exited = subprocess.then((result) => {
      container.exit = { exitCode: result.exitCode, signal: result.signal, finishedAt: Date.now() };
      log.debug("Container main process exited", { id, ...container.exit });
      return container.exit;
    });
    log.debug("Started container", { id, pid: subprocess.pid, mode: container.mode });
    return container.started;
  }

  async signal(id: string, signal?: NodeJS.Signals): Promise<void> {
    const container = this.#get(id);
    if (container.started === undefined) throw errors.failedPrecondition(`Cannot signal container "${id}": it was never started`, id);
    signalMainProcess(container, signal ?? container.spec.stopSignal ?? "SIGTERM");
  }

  async killAll(id: string): Promise<void> {
    const container = this.#get(id);
    if (container.started === undefined) return;
    if (container.mode === "process-group") return group.killProcessGroup(container.started.pid);
    await killCgroup(container.spec.cgroupPath);
    // The main process may not have joined its cgroup yet; before it has, it has forked nothing.
    signalMainProcess(container, "SIGKILL");
  }

  async state(id: string): Promise<ContainerState> {
    const container = this.#get(id);
    const { started, exit } = container;
    if (started === undefined) return { status: "created" };
    if (exit === undefined || (await this.#hasProcesses(container, started.pid))) return { status: "running", ...started };
    return { status: "stopped", ...started, ...exit };
  }

  async waitForStopped(id: string, options: WaitForStoppedOptions = {}): Promise<ContainerState> {
    const container = this.#get(id);
    const { exited, started } = container;
    if (exited === undefined || started === undefined) {
      throw errors.failedPrecondition(`Cannot wait for container "${id}" to stop: it was never started`, id);
    }
    const done = new AbortController(); // ends the losing wait once the race settles
    const signal = options.signal === undefined ? done.signal : AbortSignal.any([options.signal, done.signal]);
    try {
      const [exit] = await Promise.all([abortable(exited, signal), this.#waitForNoProcesses(container, started.pid, signal)]);
      return { status: "stopped", ...started, ...exit };
    } catch (error) {
      throw errors.normalizeWaitError(id, error, options.signal);
    } finally {
      done.abort();
    }
  }

  async pids(id: string): Promise<number[]> {
    const container = this.#get(id);
    if (container.started === undefined) return [];
    const { pid } = container.started;
    const pids = container.mode === "cgroup" ? await cgroupPids(container.spec.cgroupPath) : await group.processGroupPids(pid);
    if (container.exit === undefined && !pids.includes(pid)) pids.unshift(pid);
    return pids;
  }

  async delete(id: string): Promise<void> {
    const container = this.#containers.get(id);
    if (container === undefined) return;
    if ((await this.state(id)).status === "running") {
      throw errors.failedPrecondition(`Cannot delete container "${id}": it is running`, id);
    }
    if (container.mode === "cgroup") await removeCgroup(container.spec.cgroupPath);
    this.#containers.delete(id);
  }

  async adopt(spec: ContainerSpec, _record: AdoptionRecord): Promise<ContainerState> {
    throw errors.notImplemented(`adopt container "${spec.id}"`, this.name);
  }

  #get(id: string): Container {
    const container = this.#containers.get(id);
    if (container === undefined) throw errors.containerNotFound(id, this.name);
    return container;
  }

  /** The container's cgroup directory, or undefined when the backend falls back to process groups. */
  async #createCgroup(spec: ContainerSpec): Promise<string | undefined> {
    if (this.#forceProcessGroup) return this.#fallBack("forced by the forceProcessGroup option");
    try {
      return await createCgroup(spec.cgroupPath);
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError) throw error;
      return this.#fallBack((error as Error).message);
    }
  }

  #fallBack(reason: string): undefined {
    if (!this.#fallbackLogged) {
      this.#fallbackLogged = true;
      log.warn("Using process groups instead of cgroup v2: a child that leaves its process group escapes kill-all", { reason });
    }
    return undefined;
  }

  async #hasProcesses(container: Container, pid: number): Promise<boolean> {
    if (container.mode === "cgroup") return isPopulated(container.spec.cgroupPath);
    return group.isProcessGroupAlive(pid);
  }

  #waitForNoProcesses(container: Container, pid: number, signal: AbortSignal): Promise<void> {
    if (container.mode === "cgroup") return waitForCgroupEmpty(container.spec.cgroupPath, { signal });
    return group.waitForProcessGroupEmpty(pid, this.#pollIntervalMs, signal);
  }
}

/**
 * Signals the main process by pid, and only while it has not been reaped: until then the pid is
 * still ours, so a reused pid is never hit. Not `subprocess.kill()`: on Deno that records the signal
 * as the exit cause whatever really ended the process, and drops every signal after the first.
 */
function signalMainProcess(container: Container, signal: NodeJS.Signals): void {
  if (container.started === undefined || container.reaped === true) return;
  try {
    process.kill(container.started.pid, signal);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ESRCH") throw error;
  }
}

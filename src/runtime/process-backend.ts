import { mkdir, stat } from "node:fs/promises";
import { bindMounts } from "../host/bind-mounts.ts";
import { dirname, join } from "node:path";
import { CodedError } from "../errors/coded-error.ts";
import { cgroupPids, createCgroup, isPopulated, killCgroup } from "../host/cgroup.ts";
import { removeCgroup } from "../host/cgroup-remove.ts";
import { resolveCgroupPath } from "../host/cgroup-path.ts";
import { waitForCgroupEmpty } from "../host/cgroup-wait.ts";
import { getLogger } from "../log/logger.ts";
import * as group from "./process-group.ts";
import { AdoptedProcess } from "./process-adopted.ts";
import { ProcessHolder, readHeldExit } from "./process-holder.ts";
import { exitStatusPath } from "./process-holder-command.ts";
import { MainProcess } from "./process-main.ts";
import type { AdoptionRecord, ContainerSpec, RuntimeState, RuntimeBackend, StartResult } from "./runtime-backend.ts";
import type { ExecOptions, ExecResult, WaitForStoppedOptions } from "./runtime-backend.ts";
import { execInProcessContainer } from "./process-exec.ts";
import * as errors from "./runtime-errors.ts";
import { validateContainerSpec } from "./runtime-spec.ts";

const log = getLogger("runtime:process");

/** How often a process group is checked for emptiness (it has no event to watch). */
export const defaultGroupPollIntervalMs = 10;

export interface ProcessBackendOptions {
  /** Use process groups even where cgroup v2 works: for tests, and to compare the two. */
  forceProcessGroup?: boolean;
  groupPollIntervalMs?: number;
}

interface Container {
  spec: ContainerSpec;
  /** The cgroup's absolute directory; undefined when the container is a process group instead. */
  cgroupDir?: string;
  starting?: boolean;
  /** Our own child, or a process an earlier daemon started (adopted after a restart). */
  main?: MainProcess | AdoptedProcess;
}

/**
 * The default backend: each container's command is a host process, our own child, placed in its own
 * cgroup v2 before it execs the command, so no child it forks escapes `cgroup.kill`, and "stopped"
 * means the cgroup is empty and the main process's exit status is collected. A container is its main
 * process: once that exits, what it left in the cgroup is killed at once (by the holder as it reaps
 * it, see `process-holder.pl`; for an adopted one see `process-adopted.ts`) — what a pid namespace
 * does for an OCI container — so "stopped" follows the main process's exit within moments, never
 * waits for a left-behind child, and carries the main process's status. Where cgroup v2 cannot
 * be used, each container is a process group instead, said once in the log (see `process-group.ts`).
 * Call it from the main thread only.
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
  /** The parent of every container this backend starts (see `process-holder.ts`). */
  #holder = new ProcessHolder();

  constructor(options: ProcessBackendOptions = {}) {
    this.#forceProcessGroup = options.forceProcessGroup ?? false;
    this.#pollIntervalMs = options.groupPollIntervalMs ?? defaultGroupPollIntervalMs;
  }

  async create(spec: ContainerSpec): Promise<void> {
    validateContainerSpec(spec);
    // Said, not ignored: a process-backend command is no PID 1 that an init could help.
    if (spec.init === true) throw new CodedError("INVALID_ARGUMENT", "Cannot create container: init is for the OCI backends (runc, crun); on the process backend the command is not PID 1 of a namespace");
    if (Object.keys(spec.sysctls ?? {}).length > 0) throw new CodedError("INVALID_ARGUMENT", "Cannot create container: sysctls are for the OCI backends (runc, crun); the process backend gives containers no namespaces of their own to set them in");
    if ((spec.mounts ?? []).length > 0 && spec.rootfsDir === undefined) {
      throw new CodedError("INVALID_ARGUMENT", "Cannot create container: bind mounts need a container root (an image or a rootfs) on the process backend");
    }
    if (this.#containers.has(spec.id)) {
      throw new CodedError("ALREADY_EXISTS", `Cannot create container "${spec.id}": it exists already`);
    }
    const container: Container = { spec };
    this.#containers.set(spec.id, container); // taken at once, so a concurrent create of the same id fails
    try {
      container.cgroupDir = await this.#createCgroup(spec);
      await mkdir(dirname(spec.logPath), { recursive: true });
      // Beneath its overlay: they go with it when it is unmounted.
      if (spec.rootfsDir !== undefined && spec.mounts !== undefined) await bindMounts(spec.rootfsDir, spec.mounts);
    } catch (error) {
      this.#containers.delete(spec.id);
      if (container.cgroupDir !== undefined) await removeCgroup(spec.cgroupPath).catch(() => {});
      throw error;
    }
  }

  async start(id: string): Promise<StartResult> {
    const container = this.#get(id);
    if (container.starting === true) throw errors.failedPrecondition(`Cannot start container "${id}": it was started already`, id);
    container.starting = true;
    const procs = container.cgroupDir === undefined ? undefined : join(container.cgroupDir, "cgroup.procs");
    try {
      container.main = await MainProcess.spawn(this.#holder, container.spec, procs, {
        cgroupPath: container.cgroupDir === undefined ? undefined : container.spec.cgroupPath,
        exitPath: exitStatusPath(container.spec),
        groupPollIntervalMs: this.#pollIntervalMs,
      });
    } catch (error) {
      container.starting = false;
      throw error;
    }
    const { pid, startedAt } = container.main;
    container.main.exited.then((exit) => log.debug("Container main process exited", { id, pid, ...exit }));
    log.debug("Started container", { id, pid, cgroup: container.cgroupDir !== undefined });
    return { pid, startedAt };
  }

  async signal(id: string, signal?: NodeJS.Signals): Promise<void> {
    const { main, spec } = this.#get(id);
    if (main === undefined) throw errors.failedPrecondition(`Cannot signal container "${id}": it was never started`, id);
    await main.signal(signal ?? spec.stopSignal ?? "SIGTERM");
  }

  async killAll(id: string): Promise<void> {
    const { main, spec, cgroupDir } = this.#get(id);
    if (main === undefined) return;
    if (cgroupDir === undefined) return group.killProcessGroup(main.pid);
    await killCgroup(spec.cgroupPath);
    await main.signal("SIGKILL"); // it may not have joined its cgroup yet; before it has, it has forked nothing
  }

  async state(id: string): Promise<RuntimeState> {
    const container = this.#get(id);
    const { main } = container;
    if (main === undefined) return { status: "created" };
    const started = { pid: main.pid, startedAt: main.startedAt };
    if (main.exit === undefined || (await this.#hasProcesses(container, main.pid))) return { status: "running", ...started };
    return { status: "stopped", ...started, ...main.exit };
  }

  async waitForStopped(id: string, options: WaitForStoppedOptions = {}): Promise<RuntimeState> {
    const container = this.#get(id);
    const { main } = container;
    if (main === undefined) throw errors.failedPrecondition(`Cannot wait for container "${id}" to stop: it was never started`, id);
    try {
      const exit = await errors.abortable(main.exited, options.signal);
      // Only after the main process exited: before it has joined its cgroup, the cgroup reads empty.
      // The holder read it as it reaped the process; if it was empty then, nothing can join it. If not,
      // the holder killed the rest (the main-exit rule): this wait is for their deaths, a moment.
      if (!(main instanceof MainProcess && main.cgroupEmptyAtExit)) await this.#waitForNoProcesses(container, main.pid, options.signal);
      return { status: "stopped", pid: main.pid, startedAt: main.startedAt, ...exit };
    } catch (error) {
      throw errors.normalizeWaitError(id, error, options.signal);
    }
  }

  async pids(id: string): Promise<number[]> {
    const { main, spec, cgroupDir } = this.#get(id);
    if (main === undefined) return [];
    const pids = cgroupDir === undefined ? await group.processGroupPids(main.pid) : await cgroupPids(spec.cgroupPath);
    if (main.exit === undefined && !pids.includes(main.pid)) pids.unshift(main.pid);
    return pids;
  }

  async delete(id: string): Promise<void> {
    const container = this.#containers.get(id);
    if (container === undefined) return;
    if ((await this.state(id)).status === "running") throw errors.failedPrecondition(`Cannot delete container "${id}": it is running`, id);
    if (container.cgroupDir !== undefined) await removeCgroup(container.spec.cgroupPath);
    if (container.main instanceof AdoptedProcess) container.main.release();
    this.#containers.delete(id);
  }

  /**
   * Finds a container an earlier daemon process started through its cgroup (see `process-adopted.ts`
   * for why that is safe against pid reuse). A container that ran as a process group (no cgroup)
   * cannot be told apart from a reused pid: it is reported stopped, its exit status unknown, and
   * whatever still runs in its group is left alone — said in the log.
   */
  async adopt(spec: ContainerSpec, record: AdoptionRecord): Promise<RuntimeState> {
    validateContainerSpec(spec);
    if (this.#containers.has(spec.id)) throw new CodedError("ALREADY_EXISTS", `Cannot adopt container "${spec.id}": it exists already`);
    const cgroupDir = await resolveCgroupPath(spec.cgroupPath);
    const gone = async (): Promise<RuntimeState> => {
      const stopped = { status: "stopped" as const, pid: record.pid, startedAt: record.startedAt, finishedAt: Date.now() };
      const held = await readHeldExit(exitStatusPath(spec), { waitMs: 0 });
      return held === undefined ? { ...stopped, exitCodeUnknown: true } : { ...stopped, ...held };
    };
    const hasCgroup = !this.#forceProcessGroup && (await stat(cgroupDir).then(() => true, () => false));
    if (!hasCgroup) {
      log.warn("Cannot adopt a container without a cgroup: reported stopped (its holder's exit file, if any, says how)", { id: spec.id, pid: record.pid });
      return gone();
    }
    if (!(await isPopulated(spec.cgroupPath))) return gone();
    const main = new AdoptedProcess({ pid: record.pid, startedAt: record.startedAt, cgroupPath: spec.cgroupPath, exitPath: exitStatusPath(spec), holder: this.#holder });
    this.#containers.set(spec.id, { spec, cgroupDir, starting: true, main });
    return this.state(spec.id);
  }

  /** CRI `ExecSync`: see `process-exec.ts`. */
  exec(id: string, command: string[], options?: ExecOptions): Promise<ExecResult> {
    const { spec, cgroupDir, main } = this.#get(id);
    return execInProcessContainer({ spec, cgroupDir, running: main !== undefined && main.exit === undefined }, command, options);
  }

  /** The process holder's pid, once it runs (for logs, and for tests that kill it). */
  get holderPid(): number | undefined {
    return this.#holder.pid;
  }

  /**
   * Lets the process holder go. It ends by itself once every container it started has ended — so a
   * container left running (`--live-restore`) keeps its exit status for the next daemon.
   */
  close(): void {
    this.#holder.close();
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
    if (container.cgroupDir === undefined) return group.isProcessGroupAlive(pid);
    return isPopulated(container.spec.cgroupPath);
  }

  #waitForNoProcesses(container: Container, pid: number, signal: AbortSignal | undefined): Promise<void> {
    if (container.cgroupDir === undefined) return group.waitForProcessGroupEmpty(pid, { intervalMs: this.#pollIntervalMs, signal });
    return waitForCgroupEmpty(container.spec.cgroupPath, { signal });
  }
}

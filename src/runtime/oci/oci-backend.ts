import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CodedError } from "../../errors/coded-error.ts";
import { cgroupPids, createCgroup, isPopulated, killCgroup } from "../../host/cgroup.ts";
import { waitForCgroupEmpty } from "../../host/cgroup-wait.ts";
import { getLogger } from "../../log/logger.ts";
import type { AdoptionRecord, BackendLeftover, BackendLeftoverListing, BackendRemoval, ContainerSpec, ExecOptions, ExecResult, RuntimeBackend, RuntimeState, StartResult } from "../runtime-backend.ts";
import type { WaitForStoppedOptions } from "../runtime-backend.ts";
import * as errors from "../runtime-errors.ts";
import { validateContainerSpec } from "../runtime-spec.ts";
import { launchConmon } from "./conmon.ts";
import { ociConfig, writeOciBundle } from "./oci-bundle.ts";
import type { OciBundleOptions } from "./oci-bundle.ts";
import { preparePauseRootfs } from "./oci-pause.ts";
import { runOciExec } from "./oci-exec.ts";
import { exitFromStatus, OciExitWatcher, readExitStatus } from "./oci-exit.ts";
import { validateRuntimeHost } from "./oci-host-check.ts";
import { conmonCgroupPath, OciLayout, requireExecutable } from "./oci-layout.ts";
import type { ContainerPaths, StartedInfo } from "./oci-layout.ts";
import { listOciLeftovers, removeOciLeftovers } from "./oci-leftovers.ts";
import { OciListPoller } from "./oci-list-poller.ts";
import type { OciListPollerOptions } from "./oci-list-poller.ts";
import { findOciLeftover, removeOciContainer } from "./oci-removal.ts";
import { isRuntimeNotFound, OciRuntime } from "./oci-runtime.ts";
import { readProcStartTime, signalIfSame } from "./proc-start-time.ts";

const log = getLogger("runtime:oci");

export interface OciBackendOptions {
  /** The backend's own folder under the daemon's root (see `oci-layout.ts`). */
  root: string;
  /** `runc`, `crun`, or another runtime's name; default `runc`. */
  runtime?: string;
  /** The runtime's binary; default: `runtime` found in PATH. */
  runtimePath?: string;
  /** conmon's binary; default: `conmon` found in PATH. */
  conmonPath?: string;
  /** catatonit, for `init: true` containers; default `/usr/bin/catatonit`. */
  initPath?: string;
  /**
   * Whether the container's init is signalled by this daemon directly (after a check of its start
   * time), as runc and crun would do themselves; false for runtimes that need their own `kill`
   * (VM runtimes). Default true.
   */
  signalsDirectly?: boolean;
  /** How the runtime is polled while someone waits for "stopped" (its `held` is this backend's count). */
  poll?: Omit<OciListPollerOptions, "held">;
}

interface Container {
  spec: ContainerSpec;
  paths: ContainerPaths;
  /** Set by `create`: the init the runtime created. */
  created?: { pid: number; startTime: string; conmonPid: number; conmonStartTime?: string };
  started?: StartedInfo;
  starting?: boolean;
  /** conmon's status (undefined: conmon died without writing it), once known. */
  exited?: Promise<number | undefined>;
  /** Its "stopped", once the runtime has said so: final (a container never starts twice), so never asked again. */
  stopped?: RuntimeState;
}

/**
 * Real containers through an OCI runtime (runc; crun on hosts it supports) and one conmon per
 * container, as CRI-O runs them. conmon and the container outlive the daemon; a later daemon finds
 * them again with {@link OciBackend.adopt}. Make it with {@link OciBackend.open}, which checks the host.
 *
 * @example
 * const runtime = await OciBackend.open({ root: "/var/lib/podvisor/oci", runtime: "runc" });
 * await runtime.create({ id: "c1", command: ["sleep", "60"], rootfsDir, logPath, cgroupPath, netnsPath });
 * await runtime.start("c1");
 */
export class OciBackend implements RuntimeBackend {
  readonly name: string;
  readonly signalsDirectly: boolean;
  /** A created container's init waits for `start` in the runtime, watched by its conmon. */
  readonly runsBeforeStart = true;
  readonly runtime: OciRuntime;
  readonly conmonPath: string;
  readonly initPath: string;
  readonly layout: OciLayout;
  readonly poller: OciListPoller;
  #exits: OciExitWatcher;
  #containers = new Map<string, Container>();
  #prepared: Promise<void> | undefined;
  #pauseReady: Promise<unknown> | undefined;

  /** Use {@link OciBackend.open}; this takes paths already checked. */
  constructor(options: OciBackendOptions & { runtimePath: string; conmonPath: string }) {
    this.name = options.runtime ?? "runc";
    this.signalsDirectly = options.signalsDirectly ?? true;
    this.layout = new OciLayout(options.root);
    this.runtime = new OciRuntime({ path: options.runtimePath, root: this.layout.runtimeRoot });
    this.conmonPath = options.conmonPath;
    this.initPath = options.initPath ?? "/usr/bin/catatonit";
    this.poller = new OciListPoller(this.runtime, { ...options.poll, held: () => this.#containers.size });
    this.#exits = new OciExitWatcher(this.layout.exitDir);
  }

  /** Checks the host (the binaries; for crun, the cgroup layout) and makes the backend. */
  static async open(options: OciBackendOptions): Promise<OciBackend> {
    const runtime = options.runtime ?? "runc";
    await validateRuntimeHost(runtime);
    const runtimePath = await requireExecutable(options.runtimePath ?? runtime, runtime);
    const conmonPath = await requireExecutable(options.conmonPath ?? "conmon", "conmon");
    const backend = new OciBackend({ ...options, runtime, runtimePath, conmonPath });
    await backend.#prepare();
    return backend;
  }

  get #bundleOptions(): OciBundleOptions {
    return { initPath: this.initPath, pauseRootfs: this.layout.pauseRootfs };
  }

  /** Makes the pause root, once per backend (again after a failure). */
  #preparePause(): Promise<unknown> {
    this.#pauseReady ??= requireExecutable(this.initPath, "catatonit")
      .then((path) => preparePauseRootfs(this.layout.pauseRootfs, path))
      .catch((error: unknown) => {
        this.#pauseReady = undefined;
        throw error;
      });
    return this.#pauseReady;
  }

  /** Makes the backend's folders, once. */
  #prepare(): Promise<void> {
    this.#prepared ??= (async () => {
      for (const dir of [this.layout.runtimeRoot, this.layout.exitDir, this.layout.socketDir]) await mkdir(dir, { recursive: true, mode: 0o700 });
    })();
    return this.#prepared;
  }

  async create(spec: ContainerSpec): Promise<void> {
    validateContainerSpec(spec);
    const paths = this.layout.container(spec.id);
    ociConfig(spec, this.#bundleOptions); // a bad spec (no rootfs) fails before anything is made
    if (this.#containers.has(spec.id)) throw new CodedError("ALREADY_EXISTS", `Cannot create container "${spec.id}": it exists already`);
    const container: Container = { spec, paths };
    this.#containers.set(spec.id, container); // taken at once, so a concurrent create of the same id fails
    try {
      await this.#prepare();
      // What an earlier daemon left under this id (a created container a restarted daemon creates again).
      const leftover = await findOciLeftover(this.layout, spec.id);
      if (leftover !== undefined) await removeOciContainer(this.runtime, this.layout, leftover);
      if (spec.init === true) await requireExecutable(this.initPath, "catatonit");
      if (spec.infra === true && spec.rootfsDir === undefined) await this.#preparePause();
      await writeOciBundle(paths.bundleDir, spec, this.#bundleOptions);
      await Promise.all([mkdir(paths.persistDir, { recursive: true, mode: 0o700 }), mkdir(dirname(spec.logPath), { recursive: true })]);
      const conmonCgroup = await createCgroup(conmonCgroupPath(spec.cgroupPath));
      const { pid, conmonPid } = await launchConmon({
        conmonPath: this.conmonPath,
        runtimePath: this.runtime.path,
        runtimeArgs: this.runtime.globalArgs,
        id: spec.id,
        bundleDir: paths.bundleDir,
        pidFile: paths.pidFile,
        conmonPidFile: paths.conmonPidFile,
        logPath: spec.logPath,
        exitDir: this.layout.exitDir,
        persistDir: paths.persistDir,
        socketDir: this.layout.socketDir,
        beforeStart: (firstPid) => writeFile(join(conmonCgroup, "cgroup.procs"), String(firstPid)),
      });
      const startTime = await readProcStartTime(pid);
      if (startTime === undefined) throw new CodedError("START_FAILED", `Cannot create container "${spec.id}": its init (pid ${pid}) ended at once`);
      container.created = { pid, startTime, conmonPid, conmonStartTime: await readProcStartTime(conmonPid) };
    } catch (error) {
      this.#containers.delete(spec.id);
      await removeOciContainer(this.runtime, this.layout, spec).catch((cleanupError: unknown) => log.warn("Cannot clean up a container that failed to create", { id: spec.id, error: String(cleanupError) }));
      throw error;
    }
  }

  async start(id: string): Promise<StartResult> {
    const container = this.#get(id);
    if (container.starting === true || container.created === undefined) throw errors.failedPrecondition(`Cannot start container "${id}": it was started already`, id);
    container.starting = true;
    try {
      await this.runtime.start(id);
    } catch (error) {
      container.starting = false;
      throw new CodedError("START_FAILED", `Cannot start container "${id}": ${(error as Error).message}`, { cause: error, details: { id } });
    }
    const started: StartedInfo = { ...container.created, startedAt: Date.now() };
    container.started = started;
    await writeFile(container.paths.startedFile, JSON.stringify(started));
    this.#watchExit(container);
    log.debug("Started container", { id, pid: started.pid, runtime: this.name });
    return { pid: started.pid, startedAt: started.startedAt };
  }

  async signal(id: string, signal?: NodeJS.Signals): Promise<void> {
    const { started, spec } = this.#get(id);
    if (started === undefined) throw errors.failedPrecondition(`Cannot signal container "${id}": it was never started`, id);
    const name = signal ?? spec.stopSignal ?? "SIGTERM";
    this.#exits.expedite(id);
    if (this.signalsDirectly) {
      await signalIfSame(started.pid, started.startTime, name);
      return;
    }
    await this.runtime.kill(id, name).catch((error: unknown) => {
      if (!isRuntimeNotFound(error)) throw error;
    });
  }

  async killAll(id: string): Promise<void> {
    const { spec, created } = this.#get(id);
    if (created === undefined) return;
    this.#exits.expedite(id);
    if (!this.signalsDirectly) {
      await this.runtime.kill(id, "SIGKILL", { all: true }).catch((error: unknown) => {
        if (!isRuntimeNotFound(error)) throw error;
      });
    }
    await killCgroup(spec.cgroupPath);
  }

  async state(id: string): Promise<RuntimeState> {
    const container = this.#get(id);
    const { started } = container;
    if (started === undefined) return { status: "created" };
    // Asked again (a removal after the stop), it costs no `list`: one per container of 4,000 took minutes.
    if (container.stopped !== undefined) return container.stopped;
    const running: RuntimeState = { status: "running", pid: started.pid, startedAt: started.startedAt };
    const status = await Promise.race([container.exited, Promise.resolve("pending" as const)]);
    if (status === "pending") return running;
    const entry = await this.runtime.stateIfKnown(id);
    if (entry !== undefined && entry.status !== "stopped") return running;
    if (this.signalsDirectly && (await isPopulated(container.spec.cgroupPath))) return running;
    return this.#stopped(container, status);
  }

  async waitForStopped(id: string, options: WaitForStoppedOptions = {}): Promise<RuntimeState> {
    const container = this.#get(id);
    if (container.started === undefined || container.exited === undefined) {
      throw errors.failedPrecondition(`Cannot wait for container "${id}" to stop: it was never started`, id);
    }
    try {
      const status = await errors.abortable(container.exited, options.signal);
      // conmon's file says the init exited; the runtime's own report is the truth of "stopped".
      await this.poller.waitForStopped(id, { signal: options.signal });
      if (this.signalsDirectly) await waitForCgroupEmpty(container.spec.cgroupPath, { signal: options.signal });
      return this.#stopped(container, status);
    } catch (error) {
      throw errors.normalizeWaitError(id, error, options.signal);
    }
  }

  async pids(id: string): Promise<number[]> {
    const { spec, created } = this.#get(id);
    if (created === undefined) return [];
    return cgroupPids(spec.cgroupPath);
  }

  /**
   * Also for an id this backend does not know, whose folder an earlier daemon left (a container that
   * exited while no daemon ran is never adopted): what its bundle names is removed all the same.
   */
  async delete(id: string): Promise<void> {
    const container = this.#containers.get(id);
    if (container === undefined) {
      const leftover = await findOciLeftover(this.layout, id);
      if (leftover !== undefined) await removeOciContainer(this.runtime, this.layout, leftover);
      return;
    }
    if (container.started !== undefined && (await this.state(id)).status === "running") {
      throw errors.failedPrecondition(`Cannot delete container "${id}": it is running`, id);
    }
    await removeOciContainer(this.runtime, this.layout, container.spec);
    this.#containers.delete(id);
  }

  /**
   * Finds a container an earlier daemon started: its init through the pid and start time it kept in
   * `started.json`, its status through conmon's persist dir. One that exited while no daemon ran is
   * reported with its real status; only if conmon died too is the status unknown.
   */
  async adopt(spec: ContainerSpec, record: AdoptionRecord): Promise<RuntimeState> {
    validateContainerSpec(spec);
    if (this.#containers.has(spec.id)) throw new CodedError("ALREADY_EXISTS", `Cannot adopt container "${spec.id}": it exists already`);
    const paths = this.layout.container(spec.id);
    const kept = await readFile(paths.startedFile, "utf8").then((text) => JSON.parse(text) as StartedInfo, () => undefined);
    const started: StartedInfo = kept ?? { pid: record.pid, startTime: "", conmonPid: 0, startedAt: record.startedAt };
    const container: Container = { spec, paths, created: started, started, starting: true };
    this.#containers.set(spec.id, container);
    this.#watchExit(container);
    const status = await readExitStatus(join(paths.persistDir, "exit"));
    if (status !== undefined || kept === undefined) return this.#stopped(container, status);
    return this.state(spec.id);
  }

  async exec(id: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const container = this.#get(id);
    if (container.started === undefined) throw errors.failedPrecondition(`Cannot exec in container "${id}": it was never started`, id);
    return runOciExec(this.runtime, container.spec, container.paths.execDir, command, options);
  }

  /** conmon processes, the runtime's state folders and the bundles under this backend's root (see `oci-leftovers.ts`). */
  findLeftovers(): Promise<BackendLeftoverListing> {
    return listOciLeftovers(this.layout);
  }

  /** Removes what {@link OciBackend.findLeftovers} listed of one container no record owns; the backend forgets it too. */
  async removeLeftovers(items: BackendLeftover[], options: { signal?: AbortSignal } = {}): Promise<BackendRemoval[]> {
    const outcomes = await removeOciLeftovers(this.runtime, this.layout, items, options);
    for (const item of items) this.#containers.delete(item.containerId);
    return outcomes;
  }

  /** conmon's cgroup, beside the container's. */
  helperCgroups(cgroupPath: string): string[] {
    return [conmonCgroupPath(cgroupPath)];
  }

  /**
   * Stops watching exits. conmon and the containers go on; a later backend adopts them. The v1 cgroup
   * folders runc made for the daemon's top cgroup are removed if empty (a running container keeps
   * them), without waiting: nothing else removes them, and nothing depends on it.
   */
  /** The daemon's top cgroup, in v2 and in the v1 hierarchies runc also used, is removed by the supervisor's shutdown. */
  close(): void {
    this.#exits.close();
  }

  #get(id: string): Container {
    const container = this.#containers.get(id);
    if (container === undefined) throw errors.containerNotFound(id, this.name);
    return container;
  }

  #watchExit(container: Container): void {
    const { started, paths, spec } = container;
    if (started === undefined) return;
    const conmon = started.conmonStartTime === undefined ? undefined : { pid: started.conmonPid, startTime: started.conmonStartTime };
    container.exited = this.#exits.whenExited(spec.id, paths.persistDir, { conmon });
  }

  /** The container's final state, kept: called once the runtime's own report says stopped. */
  #stopped(container: Container, status: number | undefined): RuntimeState {
    const { started } = container;
    const base = { status: "stopped" as const, pid: started?.pid, startedAt: started?.startedAt, finishedAt: Date.now() };
    container.stopped = status === undefined ? { ...base, exitCodeUnknown: true } : { ...base, ...exitFromStatus(status) };
    return container.stopped;
  }
}

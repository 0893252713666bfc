import { createHash } from "node:crypto";
import { removeEmptyV1Cgroups } from "../src/host/cgroup-v1.ts";
import type { ContainerRecord } from "../src/state/records.ts";
import { mkdir, realpath, rmdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { findCgroup2Mount } from "../src/host/cgroup.ts";
import { ActorSystem } from "../src/actor-system/index.ts";
import { systemClock } from "../src/async/clock.ts";
import type { Clock } from "../src/async/clock.ts";
import type { ActorsLost } from "../src/actor-system/index.ts";
import { getLogger } from "../src/log/logger.ts";
import { Metrics } from "../src/metrics/metrics.ts";
import type { SandboxStopVia } from "../src/metrics/metrics.ts";
import { toErrorData } from "../src/errors/coded-error.ts";
import { PodNetwork } from "../src/network/pod-network.ts";
import type { PodNetworkOptions } from "../src/network/pod-network.ts";
import { ProcessBackend } from "../src/runtime/process-backend.ts";
import type { RuntimeBackend } from "../src/runtime/runtime-backend.ts";
import type { HostCheckReport, ImageFilesystemUsage, ImageView } from "../src/api/api-types.ts";
import { StateStore } from "../src/state/state-store.ts";
import { runtimeService, stateService } from "../actors/protocol.ts";
import type { SandboxMessage, StateRequest } from "../actors/protocol.ts";
import { sandboxRef } from "../actors/sandbox.ts";
import { createContainer } from "./container-create.ts";
import { execInContainer } from "./container-exec.ts";
import { networkReadiness } from "./network-readiness.ts";
import type { ExecOptions, ExecResult } from "../src/runtime/runtime-backend.ts";
import type { NetworkStatus } from "../src/api/pod-service.ts";
import { CreationGate } from "./creation-gate.ts";
import { removeContainer } from "./container-remove.ts";
import { startContainer } from "./container-start.ts";
import { stopContainer } from "./container-stop.ts";
import type { StopOptions, StopOutcome, StopStrategy, SupervisorContext } from "./context.ts";
import { createHostWork } from "./host-work.ts";
import { checkHost } from "./leak-check.ts";
import type { CheckHostOptions } from "./leak-check.ts";
import { restoreContainers } from "./restore.ts";
import { createRuntimeService } from "./runtime-service.ts";
import { ImageService } from "../src/image/image-service.ts";
import type { RegistryMirrors } from "../src/image/registry-mirrors.ts";
import { imageUser } from "./container-image.ts";
import { removePodSandbox } from "./sandbox-remove.ts";
import { runPodSandbox } from "./sandbox-run.ts";
import { stopPodSandbox } from "./stop/sandbox-stop.ts";
import type { ContainerFilter, SandboxFilter } from "../src/api/status-filter.ts";
import { containerStatus, containerView, listContainers, listPodSandbox, podSandboxStatus, sandboxStatus } from "./status.ts";
import type { ContainerStatus, PodSandboxStatus } from "./status.ts";
import type { StatusChange } from "../src/api/api-types.ts";
import { stopPodSandboxes } from "./stop/stop-batch.ts";
import type { BatchStopOptions, StopAllResult } from "./stop/stop-batch.ts";
import { StopDeadlines } from "./stop/stop-deadlines.ts";
import { resumeStops } from "./stop/stop-resume.ts";

const log = getLogger("supervisor");

/**
 * Removes this daemon's top cgroup if nothing is left in it (rmdir refuses otherwise); never kills.
 * On a hybrid host also its copies in the v1 hierarchies, where runc places containers too.
 */
async function removeEmptyCgroup(path: string): Promise<void> {
  try {
    await rmdir(join(await findCgroup2Mount(), path));
  } catch (error) {
    log.debug("Left the daemon's cgroup in place", { path, error });
  }
  await removeEmptyV1Cgroups(path, { includeTop: true });
}
const actorCallMs = 30_000;

/** The line each container's exit gets once it is recorded: a warning when the stop had to kill it. */
function logExit(record: ContainerRecord): void {
  const fields = { containerId: record.id, sandboxId: record.sandboxId, exitCode: record.exitCode, signal: record.signal, reason: record.reason };
  if (record.reason === "killed-at-deadline") log.warn("Container killed at its stop deadline", fields);
  else log.info("Container exited", fields);
}
/** How long a shutdown waits for the creations in flight to settle (as long as their longest actor call). */
const creationsSettleMs = 30_000;

export interface SupervisorOptions {
  /** The daemon's root: every record, mount point and log it makes lies under it. */
  root: string;
  /** Worker threads; default: the available cores. */
  workers?: number;
  /** The container runtime; default: host processes in their own cgroups. */
  backend?: RuntimeBackend;
  /** Time a container gets, after its kill, to be reported stopped; default 5 s. */
  killGraceMs?: number;
  heartbeatTimeoutMs?: number;
  /** `parallel` (default), or `sequential`: the reference's way, as the benchmark's baseline. */
  stopStrategy?: StopStrategy;
  /** Registries pulled from over plain HTTP besides loopback (`--insecure-registry`). */
  insecureRegistries?: string[];
  /** Mirrors asked first for a registry's images (`--registry-mirror`). */
  registryMirrors?: RegistryMirrors;
  /** Where the stop path takes its time from; default the real clock (tests drive a manual one). */
  clock?: Clock;
  /** CNI: where the network config and the plugins are (the cache goes under the root); absent: network "none". */
  network?: Omit<PodNetworkOptions, "cacheDir">;
}

/**
 * The supervisor, on the main thread: the registry of sandboxes and containers, their lifecycle
 * (the daemon's internal API, one file per verb beside this one), and the host cleanup. No stuck
 * worker can stall it: it kills a container's cgroup itself when an actor does not answer.
 */
export class Supervisor {
  readonly #context: SupervisorContext;

  readonly #unrecoverable = new Set<(lost: ActorsLost) => void>();

  /** The image store (src/image): set in `start`, before anything is answered. */
  #images!: ImageService;

  /** The creations in flight, and the gate a shutdown closes (see `creation-gate.ts`). */
  readonly #creations = new CreationGate();
  #drained: Promise<void> | undefined;

  private constructor(context: SupervisorContext) {
    this.#context = context;
  }

  /**
   * Calls `listener` when a worker thread was lost that the runtime could not stop (a hung worker
   * on Deno, whose thread burns on): its actors are rebuilt on a new worker first, so stops go on,
   * but only a new process gets the core back. The daemon restarts itself then (`daemon/daemon.ts`).
   */
  onUnrecoverableWorker(listener: (lost: ActorsLost) => void): void {
    this.#unrecoverable.add(listener);
  }

  /** Settles once no stop is in flight (the ones running now, and any they join). */
  async stopsSettled(): Promise<void> {
    while (this.#context.stopsInFlight.size > 0) await Promise.allSettled(this.#context.stopsInFlight.values());
  }

  static async start(options: SupervisorOptions): Promise<Supervisor> {
    await mkdir(resolve(options.root), { recursive: true, mode: 0o700 });
    const root = await realpath(resolve(options.root));
    const clock = options.clock ?? systemClock;
    const system = await ActorSystem.start({
      clock,
      workers: options.workers,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      workerEntry: new URL("../actors/worker.ts", import.meta.url),
    });
    const store = new StateStore(root);
    await store.load();
    const backend = options.backend ?? new ProcessBackend();
    const deadlines = new StopDeadlines();
    const context: SupervisorContext = {
      root,
      tag: createHash("sha256").update(root).digest("hex").slice(0, 8),
      system,
      store,
      backend,
      runtime: createRuntimeService(backend, system, deadlines, clock),
      clock,
      deadlines,
      stopsInFlight: new Map(),
      takenOver: new Set(),
      killGraceMs: options.killGraceMs ?? 5_000,
      metrics: new Metrics(),
      hostWork: createHostWork(root),
      stopStrategy: options.stopStrategy ?? "parallel",
      network: options.network === undefined ? undefined : new PodNetwork({ ...options.network, cacheDir: join(root, "cni") }),
    };
    const { runtime } = context;
    system.serve(runtimeService, runtime.handle);
    system.serve(stateService, async (message) => {
      const { record } = message as StateRequest;
      // An exit is recorded once. When a worker is lost mid-stop the main thread stops the container
      // and records why; the rebuilt actor then hears of the same exit and must not overwrite that.
      if (context.takenOver.has(record.id) || store.containers.get(record.id)?.state === "exited") return;
      await store.saveContainer(record);
      if (record.state === "exited") logExit(record);
    });
    context.metrics.watchActors(() => system.stats().actorsPerWorker);
    context.metrics.watchInventory(store);
    const supervisor = new Supervisor(context);
    supervisor.#images = await ImageService.open({ root, insecureRegistries: options.insecureRegistries, registryMirrors: options.registryMirrors });
    context.images = supervisor.#images.store;
    context.images.inUse = (image) => imageUser(context, image);
    system.onActorsLost((lost) => void supervisor.#rebuild(lost));
    // A restart: the runtime gets back what the records name, then the actors are built from the
    // (updated) records, then adopted containers are watched, so that no exit is missed.
    const restored = await restoreContainers(context);
    context.metrics.countRestored("adopted", restored.adopted.length);
    context.metrics.countRestored("exited-while-down", restored.exitedWhileDown.length);
    context.metrics.countRestored("failed", restored.failed.length);
    for (const sandbox of store.sandboxes.values()) await supervisor.#spawnActors(sandbox.id);
    for (const id of restored.adopted) runtime.watch(id);
    supervisor.resumed = resumeStops(context).then((results) => supervisor.#countStops("resumed", results)).catch((error: unknown) => {
      log.error("Cannot resume the interrupted stops", { error });
      return [];
    });
    log.info("Supervisor ready", { root, sandboxes: store.sandboxes.size, containers: store.containers.size, adopted: restored.adopted.length });
    return supervisor;
  }

  /**
   * The stops an earlier daemon process left unfinished, resumed at start under their original
   * deadlines (see `stop-resume.ts`); settles once they are all over.
   */
  resumed: Promise<StopAllResult[]> = Promise.resolve([]);

  get root(): string {
    return this.#context.root;
  }

  /** The tag in every netns and cgroup name this supervisor makes (`pv-<tag>-…`, `podvisor-<tag>/…`). */
  get tag(): string {
    return this.#context.tag;
  }

  /** The container runtime backend's name (`process`, `lagging(process)` …). */
  get backendName(): string {
    return this.#context.backend.name;
  }

  runPodSandbox(config: unknown): Promise<string> {
    return this.#time("run_pod_sandbox", () => this.#creations.run("run pod sandbox", () => runPodSandbox(this.#context, config)));
  }

  stopPodSandbox(id: string, options?: StopOptions): Promise<StopOutcome> {
    return this.#time("stop_pod_sandbox", async () => {
      try {
        return await stopPodSandbox(this.#context, id, options);
      } catch (error) {
        // A stop asked for wrongly (a malformed id) is no sandbox's failure.
        if (toErrorData(error).code !== "INVALID_ARGUMENT") this.#countStops("single", [{ ok: false }]);
        throw error;
      }
    }).then((outcome) => (this.#countStops("single", [{ ok: true }]), outcome));
  }

  removePodSandbox(id: string): Promise<void> {
    return this.#time("remove_pod_sandbox", () => removePodSandbox(this.#context, id));
  }

  podSandboxStatus(id: string): PodSandboxStatus {
    return podSandboxStatus(this.#context, id);
  }

  listPodSandbox(filter?: SandboxFilter): PodSandboxStatus[] {
    return listPodSandbox(this.#context, filter);
  }

  createContainer(sandboxId: string, config: unknown): Promise<string> {
    return this.#time("create_container", () => this.#creations.run("create container", () => createContainer(this.#context, sandboxId, config)));
  }

  async startContainer(id: string): Promise<void> {
    await this.#time("start_container", () => this.#creations.run("start container", () => startContainer(this.#context, id)));
  }

  async stopContainer(id: string, options?: StopOptions): Promise<void> {
    await this.#time("stop_container", () => stopContainer(this.#context, id, options));
  }

  removeContainer(id: string): Promise<void> {
    return this.#time("remove_container", () => removeContainer(this.#context, id));
  }

  containerStatus(id: string): ContainerStatus {
    return containerStatus(this.#context, id);
  }

  listContainers(filter?: ContainerFilter): ContainerStatus[] {
    return listContainers(this.#context, filter);
  }

  /** Runs a command in a running container, through the backend's exec (CRI `ExecSync`). */
  execSync(id: string, command: string[], options?: ExecOptions): Promise<ExecResult> {
    return this.#time("exec_sync", () => execInContainer(this.#context, id, command, options));
  }

  /** Whether pods get a network (CRI `Status`'s NetworkReady), and why not. */
  networkStatus(): Promise<NetworkStatus> {
    return networkReadiness(this.#context);
  }

  /**
   * Every sandbox's and container's status as it is now, and each change to come, in order, until
   * `stop()`: what the API thread keeps its copy with, so that status and list never wait for the
   * main thread (see `src/api/api-thread.ts`).
   */
  watchStatus(listener: (change: StatusChange) => void): { snapshot: StatusChange[]; stop(): void } {
    const { store } = this.#context;
    const snapshot: StatusChange[] = [
      ...[...store.sandboxes.values()].map((record): StatusChange => ({ kind: "sandbox", status: sandboxStatus(record) })),
      ...[...store.containers.values()].map((record): StatusChange => ({ kind: "container", status: containerView(record) })),
    ];
    const stop = store.onChange((change) => {
      switch (change.type) {
        case "sandbox":
          return listener({ kind: "sandbox", status: sandboxStatus(change.record) });
        case "container":
          return listener({ kind: "container", status: containerView(change.record) });
        case "sandbox-removed":
          return listener({ kind: "sandbox-removed", id: change.id });
        case "container-removed":
          return listener({ kind: "container-removed", id: change.id });
      }
    });
    return { snapshot, stop };
  }

  /** Stops many sandboxes (or all) under one absolute deadline; reports each one's outcome. */
  stopPodSandboxes(target: { ids: string[] } | { all: true }, options?: BatchStopOptions): Promise<StopAllResult[]> {
    return this.#stopBatch("batch", target, options);
  }

  /** A batch stop, each sandbox's result counted as it comes (a scrape during a long stop-all sees them), by how it was asked for. */
  #stopBatch(via: SandboxStopVia, target: { ids: string[] } | { all: true }, options: BatchStopOptions = {}): Promise<StopAllResult[]> {
    const onDone = (result: StopAllResult) => {
      this.#countStops(via, [result]);
      options.onDone?.(result);
    };
    return this.#time("stop_pod_sandboxes", () => stopPodSandboxes(this.#context, target, { ...options, onDone }));
  }

  #countStops<T extends { ok: boolean }>(via: SandboxStopVia, results: T[]): T[] {
    this.#context.metrics.countSandboxStops(via, results);
    return results;
  }

  stopAllPodSandboxes(options?: StopOptions): Promise<StopAllResult[]> {
    return this.stopPodSandboxes({ all: true }, options);
  }

  /** The Prometheus text exposition of this supervisor's metrics. */
  metricsText(): Promise<string> {
    return this.#context.metrics.text();
  }

  get metrics(): Metrics {
    return this.#context.metrics;
  }

  #time<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return this.#context.metrics.time(operation, run);
  }

  /**
   * Refuses every creation (run, create, start) from now on with UNAVAILABLE, and settles once the
   * ones in flight have, each finished or undone (bounded by `timeoutMs`, default 30 s): what they
   * made then has records, for a stop-all to stop or a live restore to leave whole. The first
   * step of a shutdown; the daemon calls it before it closes its socket, so that the clients of the
   * creations in flight still get their answers. Calling it again joins the first.
   */
  drain(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#drained ??= (async () => {
      const { clock } = this.#context;
      const inFlight = this.#creations.size;
      const { unsettled } = await this.#creations.close({ deadlineAt: clock.now() + (options.timeoutMs ?? creationsSettleMs), clock });
      if (unsettled.length > 0) log.error("Creations still in flight at shutdown: what they made may stay on the host until the next start's leak check", { unsettled });
      else if (inFlight > 0) log.info("Creations in flight settled before the shutdown", { creations: inFlight });
    })();
    return this.#drained;
  }

  /**
   * Stops the actor system, after the creations in flight have settled (`drain`). With `stopAll`,
   * every sandbox is stopped first (in parallel), those the creations just made included.
   */
  async shutdown(options: { stopAll: boolean } & StopOptions): Promise<StopAllResult[]> {
    await this.drain();
    const results = options.stopAll ? await this.#stopBatch("shutdown", { all: true }, options) : [];
    await this.#context.system.shutdown();
    this.#context.store.close();
    this.#context.backend.close();
    if (options.stopAll) await removeEmptyCgroup(`podvisor-${this.#context.tag}`);
    return results;
  }

  /** The actor runtime underneath: for tools and tests that must reach a worker (to hang one, say). */
  get actorSystem(): ActorSystem {
    return this.#context.system;
  }

  /** Which worker hosts a sandbox (and its containers). */
  workerOf(sandboxId: string): number | undefined {
    return this.#context.system.whereIs(sandboxId);
  }

  /** Replaces a worker thread; the actors it hosted are rebuilt from their records. */
  recycleWorker(index: number): void {
    this.#context.system.recycleWorker(index);
  }

  /** Spawns a sandbox's actor and its containers' actors from their records (the records are the truth). */
  async #spawnActors(sandboxId: string): Promise<void> {
    const { system, store } = this.#context;
    await system.spawn({ id: sandboxId, behavior: sandboxRef, init: { id: sandboxId } });
    for (const record of store.containersOf(sandboxId)) {
      const message: SandboxMessage = { type: "sandbox.add-container", record };
      await system.ask(sandboxId, message, { deadlineAt: this.#context.clock.now() + actorCallMs });
    }
  }

  async #rebuild(lost: ActorsLost): Promise<void> {
    const sandboxes = lost.specs.filter((spec) => spec.behavior.export === sandboxRef.export && this.#context.store.sandboxes.has(spec.id));
    log.warn("Rebuilding actors of a lost worker", { workerIndex: lost.workerIndex, sandboxes: sandboxes.length, unrecoverable: lost.unrecoverable });
    for (const spec of sandboxes) {
      await this.#spawnActors(spec.id).catch((error: unknown) => log.error("Cannot rebuild a sandbox's actors", { sandboxId: spec.id, error }));
    }
    if (lost.unrecoverable) for (const listener of this.#unrecoverable) listener(lost);
  }

  pullImage(params: { image: { image: string }; auth?: object }, options?: { onProgress?: (progress: { doneBytes: number; totalBytes: number }) => void }): Promise<{ imageRef: string }> {
    return this.#time("pull_image", () => this.#images.pullImage(params, options));
  }

  async listImages(params?: { filter?: { image?: { image: string } } }): Promise<{ images: ImageView[] }> {
    return this.#images.listImages(params);
  }

  async imageStatus(params: { image: { image: string } }): Promise<{ image: ImageView | null }> {
    return this.#images.imageStatus(params);
  }

  removeImage(params: { image: { image: string } }): Promise<void> {
    return this.#time("remove_image", () => this.#images.removeImage(params));
  }

  imageFsInfo(): Promise<{ imageFilesystems: ImageFilesystemUsage[] }> {
    return this.#images.imageFsInfo();
  }

  loadImage(params: { path: string; name?: string }): Promise<{ images: ImageView[] }> {
    return this.#time("load_image", () => this.#images.loadImage(params));
  }

  /** Compares the host with the records (leak-check.ts)
; with `repair`, removes what no record owns. */
  checkHost(options?: CheckHostOptions): Promise<HostCheckReport> {
    return this.#time("check_host", () => checkHost(this.#context, options));
  }
}

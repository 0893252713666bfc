import os from "node:os";
import { nanoid } from "nanoid";
import { getLogger } from "../log/logger.ts";
import { canTerminateSpinningWorker } from "../platform/runtime.ts";
import type { SpawnResult } from "./actor-host.ts";
import type { BehaviorRef, SpawnSpec } from "./behavior.ts";
import { broadcastAndGather } from "./broadcast.ts";
import type { BroadcastOptions, BroadcastOutcome } from "./broadcast.ts";
import { systemClock } from "../async/clock.ts";
import type { Clock } from "../async/clock.ts";
import { mainThread } from "./envelope.ts";
import type { Envelope } from "./envelope.ts";
import { ActorLostError, ActorNotFoundError, fromErrorData, toErrorData } from "../errors/coded-error.ts";
import { PendingAsks } from "./pending-asks.ts";
import { WorkerHandle } from "./worker-handle.ts";
import type { WorkerHealth } from "./worker-protocol.ts";
import { WorkerRouter } from "./worker-router.ts";
import type { MainThreadService } from "./worker-router.ts";

export interface ActorSystemOptions {
  /** Worker threads in the pool; default: the number of available cores. */
  workers?: number;
  /** Drives every deadline. Heartbeats always use real time: they measure a real thread. */
  clock?: Clock;
  /** How often a worker beats; default 100 ms. */
  heartbeatIntervalMs?: number;
  /** A worker silent this long is hung: terminated and replaced; default 5,000 ms. */
  heartbeatTimeoutMs?: number;
  /** The worker threads' entry module: one that imports `worker-entry.ts`, and may preload behaviours. */
  workerEntry?: URL;
}

export interface SpawnRequest {
  behavior: BehaviorRef;
  init?: unknown;
  id?: string;
  /** Put the actor on the same worker as this one (a sandbox and its containers share one). */
  near?: string;
  /** Put the actor on this worker (by index); `near` wins when both are given. */
  worker?: number;
}

/** The actors of a worker that was lost; whoever owns them rebuilds them from `specs`. */
export interface ActorsLost {
  workerIndex: number;
  reason: LossReason;
  /** The worker's thread could not be stopped (Deno, a synchronous loop): restart the process. */
  unrecoverable: boolean;
  specs: SpawnSpec[];
}

/** Why a worker was lost: it exited (crashed), hung (no heartbeat), or was recycled on request. */
export type LossReason = "exited" | "hung" | "recycled";

const spawnTimeoutMs = 30_000;
const spawnChunk = 2_000;
const log = getLogger("actor-system");

/**
 * A fixed pool of worker threads hosting many actors, addressed by id.
 *
 * @example
 * const system = await ActorSystem.start({ workers: 2 });
 * const id = await system.spawn({ behavior: behaviorRef(url, "counter") });
 * await system.ask(id, { type: "inc" }, { deadlineAt: Date.now() + 1_000 });
 * await system.shutdown();
 */
export class ActorSystem {
  #clock: Clock;
  #options: Required<Omit<ActorSystemOptions, "clock" | "workerEntry">>;
  #workerEntry: URL | undefined;
  #workers: WorkerHandle[] = [];
  #registry = new Map<string, { handle: WorkerHandle; spec: SpawnSpec }>();
  #pending: PendingAsks;
  #router: WorkerRouter;
  #listeners = new Set<(lost: ActorsLost) => void>();
  #services = new Map<string, MainThreadService>();
  #unrecoverable = 0;
  #nextSerial = 1;
  #monitor: ReturnType<typeof setInterval> | undefined;
  #closing = false;

  private constructor(options: ActorSystemOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#options = {
      workers: options.workers ?? os.availableParallelism(),
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 100,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 5_000,
    };
    if (!Number.isInteger(this.#options.workers) || this.#options.workers < 1) {
      throw new RangeError(`Cannot start actor system: workers must be a positive integer, got ${options.workers}`);
    }
    this.#workerEntry = options.workerEntry;
    this.#pending = new PendingAsks(this.#clock);
    this.#router = new WorkerRouter({
      lookup: (id) => this.#registry.get(id)?.handle,
      service: (name) => this.#services.get(name),
      settle: (reply) => reply.ok ? this.#pending.resolve(reply.id, reply.value) : this.#pending.reject(reply.id, fromErrorData(reply.error)),
      spawned: (handle, specs) => specs.forEach((spec) => this.#register(handle, spec)),
      stopped: (handle, ids) => ids.forEach((id) => this.#unregister(handle, id)),
    });
  }

  /** Starts the pool and resolves once every worker can take calls. */
  static async start(options: ActorSystemOptions = {}): Promise<ActorSystem> {
    const system = new ActorSystem(options);
    for (let index = 0; index < system.#options.workers; index++) system.#workers.push(system.#startWorker(index));
    await Promise.all(system.#workers.map((handle) => handle.ready));
    system.#monitor = setInterval(() => system.#checkHeartbeats(), system.#options.heartbeatIntervalMs);
    system.#monitor.unref?.();
    return system;
  }

  get workerCount(): number {
    return this.#workers.length;
  }

  /** Spawns one actor; resolves with its id once its `start` has run. */
  async spawn(request: SpawnRequest): Promise<string> {
    const [result] = await this.spawnMany([request]);
    if (!result.ok) throw fromErrorData(result.error);
    return result.id;
  }

  /** Spawns many actors, spread over the least-loaded workers unless `near` says otherwise. */
  async spawnMany(requests: SpawnRequest[]): Promise<SpawnResult[]> {
    const results: SpawnResult[] = new Array(requests.length);
    const groups = new Map<WorkerHandle, { spec: SpawnSpec; index: number }[]>();
    requests.forEach((request, index) => {
      const spec: SpawnSpec = { id: request.id ?? nanoid(), behavior: request.behavior, init: request.init };
      const handle = this.#placeFor(request);
      if (handle === undefined) {
        const error = request.near === undefined
          ? new RangeError(`Cannot spawn actor: no worker ${request.worker}`)
          : new ActorNotFoundError(request.near);
        results[index] = { id: spec.id, ok: false, error: toErrorData(error) };
      } else if (this.#registry.has(spec.id)) {
        results[index] = { id: spec.id, ok: false, error: { code: "ALREADY_EXISTS", message: `Cannot spawn actor: "${spec.id}" already exists` } };
      } else {
        handle.actorCount++; // counted now so that the next request sees the load
        let group = groups.get(handle);
        if (group === undefined) groups.set(handle, (group = []));
        group.push({ spec, index });
      }
    });
    await Promise.all([...groups].map(([handle, items]) => this.#spawnOn(handle, items, results)));
    return results;
  }

  async #spawnOn(handle: WorkerHandle, items: { spec: SpawnSpec; index: number }[], results: SpawnResult[]): Promise<void> {
    handle.actorCount -= items.length; // #register counts each one that really started
    const deadlineAt = this.#clock.now() + spawnTimeoutMs;
    for (let start = 0; start < items.length; start += spawnChunk) {
      const chunk = items.slice(start, start + spawnChunk);
      let answers: SpawnResult[];
      try {
        answers = await handle.call((control) => control.spawn(chunk.map((item) => item.spec)), { deadlineAt, what: "spawn actors" });
      } catch (error) {
        answers = chunk.map(({ spec }) => ({ id: spec.id, ok: false, error: toErrorData(error) }));
      }
      chunk.forEach(({ spec, index }, position) => {
        if (answers[position].ok) this.#register(handle, spec);
        results[index] = answers[position];
      });
    }
  }

  /** Sends and forgets. A message to an unknown actor is dropped. */
  tell(to: string, message: unknown): void {
    const handle = this.#registry.get(to)?.handle;
    if (handle === undefined) {
      log.debug("Dropped a message to an unknown actor", { actorId: to });
      return;
    }
    handle.outbox.push({ k: "tell", to, msg: message });
  }

  /** Sends and waits for the answer until `deadlineAt`; rejects with a coded error. */
  ask<T = unknown>(to: string, message: unknown, options: { deadlineAt: number }): Promise<T> {
    return this.#ask(to, message, options.deadlineAt, false) as Promise<T>;
  }

  /** Stops an actor through its mailbox; an unknown actor is already stopped. */
  async stop(id: string, options: { deadlineAt: number }): Promise<void> {
    if (!this.#registry.has(id)) return;
    await this.#ask(id, undefined, options.deadlineAt, true);
  }

  /** Asks every actor at once and gathers each outcome by one absolute deadline. */
  broadcast<T = unknown>(ids: string[], messageFor: (id: string) => unknown, options: BroadcastOptions<T>): Promise<BroadcastOutcome<T>[]>;
  broadcast<T = unknown>(ids: string[], message: unknown, options: BroadcastOptions<T>): Promise<BroadcastOutcome<T>[]>;
  broadcast<T = unknown>(ids: string[], message: unknown, options: BroadcastOptions<T>): Promise<BroadcastOutcome<T>[]> {
    return broadcastAndGather<T>(this, ids, message, options);
  }

  #ask(to: string, msg: unknown, deadlineAt: number, stop: boolean): Promise<unknown> {
    const handle = this.#registry.get(to)?.handle;
    if (handle === undefined) return Promise.reject(new ActorNotFoundError(to));
    const { id, promise } = this.#pending.add(to, handle.serial, deadlineAt);
    handle.outbox.push({ k: "ask", to, msg, id, from: mainThread, deadlineAt, ...(stop ? { stop: true } : {}) });
    return promise;
  }

  /**
   * Offers `handler` to every actor under `name` (asked and told like an actor). Subprocesses
   * belong on the main thread: on Deno execa cannot load in a worker, and on Node a child spawned
   * from a worker that is then terminated stays a zombie — so actors decide, services act.
   */
  serve(name: string, handler: MainThreadService): void {
    if (this.#services.has(name)) throw new RangeError(`Cannot serve "${name}": a service has that name already`);
    this.#services.set(name, handler);
  }

  /**
   * Replaces a worker (an admin operation): its thread is terminated, its actors are reported lost
   * to their owners, who rebuild them on the new worker, exactly as after a crash.
   */
  recycleWorker(index: number): void {
    const handle = this.#workers[index];
    if (handle === undefined) throw new RangeError(`Cannot recycle worker ${index}: there are ${this.#workers.length}`);
    this.#lose(handle, "recycled", {});
  }

  /** Which worker (by index) hosts an actor. */
  whereIs(id: string): number | undefined {
    return this.#registry.get(id)?.handle.index;
  }

  /** Calls `listener` whenever a worker is lost, with the actors it hosted. */
  onActorsLost(listener: (lost: ActorsLost) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Asks every worker for its health (bounded by `deadlineAt`). */
  health(options: { deadlineAt: number }): Promise<WorkerHealth[]> {
    return Promise.all(this.#workers.map((handle) => handle.call((control) => control.health(), { ...options, what: "read worker health" })));
  }

  /** A cheap synchronous view for tests and metrics. */
  stats(): {
    actors: number;
    pendingAsks: number;
    forwardedAsks: number;
    armedTimers: number;
    unrecoverableWorkers: number;
    actorsPerWorker: number[];
    /** Envelopes that crossed between the main thread and the workers so far (of the workers running now). */
    crossings: { toWorkers: number; fromWorkers: number };
  } {
    return {
      crossings: { toWorkers: this.#workers.reduce((sum, handle) => sum + handle.outbox.sent, 0), fromWorkers: this.#router.received },
      actors: this.#registry.size,
      pendingAsks: this.#pending.size,
      forwardedAsks: this.#router.forwardedAsks,
      armedTimers: this.#pending.armedTimers,
      unrecoverableWorkers: this.#unrecoverable,
      actorsPerWorker: this.#workers.map((handle) => handle.actorCount),
    };
  }

  /** Terminates every worker. Asks still waiting reject with ACTOR_LOST. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#monitor);
    const closed = new ActorLostError("Cannot get an answer: the actor system shut down");
    for (const handle of this.#workers) {
      handle.markLost(closed);
      this.#pending.rejectTarget(handle.serial, () => closed);
    }
    await Promise.all(this.#workers.map((handle) => handle.terminate()));
    this.#registry.clear();
  }

  #startWorker(index: number): WorkerHandle {
    return new WorkerHandle({
      index,
      serial: this.#nextSerial++,
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
      clock: this.#clock,
      entry: this.#workerEntry,
      onBatch: (handle, batch: Envelope[]) => this.#router.receive(handle, batch),
      onExit: (handle, exitCode) => this.#lose(handle, "exited", { exitCode }),
    });
  }

  #checkHeartbeats(): void {
    const now = Date.now();
    for (const handle of this.#workers) {
      if (handle.isLost) continue;
      const silentMs = handle.silentForMs(now);
      if (silentMs > this.#options.heartbeatTimeoutMs) this.#lose(handle, "hung", { silentMs });
    }
  }

  #lose(handle: WorkerHandle, reason: LossReason, details: Record<string, unknown>): void {
    if (handle.isLost || this.#closing) return;
    const error = new ActorLostError(`Cannot get an answer: worker ${handle.index} ${reason}`, { details: { workerIndex: handle.index, reason, ...details } });
    handle.markLost(error);
    const specs: SpawnSpec[] = [];
    for (const [id, entry] of this.#registry) {
      if (entry.handle !== handle) continue;
      specs.push(entry.spec);
      this.#registry.delete(id);
    }
    this.#pending.rejectTarget(handle.serial, (to) => new ActorLostError(`Cannot get an answer from actor "${to}": its worker ${reason}`, { details: { actorId: to, workerIndex: handle.index, reason } }));
    this.#router.failForwardedTo(handle, error);
    const unrecoverable = reason === "hung" && !canTerminateSpinningWorker;
    if (unrecoverable) this.#unrecoverable++;
    if (reason !== "exited") void handle.terminate();
    this.#workers[handle.index] = this.#startWorker(handle.index);
    log.error("Lost a worker", { workerIndex: handle.index, reason, unrecoverable, actors: specs.length, ...details });
    for (const listener of this.#listeners) listener({ workerIndex: handle.index, reason, unrecoverable, specs });
  }

  #placeFor(request: SpawnRequest): WorkerHandle | undefined {
    if (request.near !== undefined) return this.#registry.get(request.near)?.handle;
    if (request.worker !== undefined) return this.#workers[request.worker];
    return this.#leastLoaded();
  }

  #leastLoaded(): WorkerHandle {
    let best = this.#workers[0];
    for (const handle of this.#workers) if (handle.actorCount < best.actorCount) best = handle;
    return best;
  }

  #register(handle: WorkerHandle, spec: SpawnSpec): void {
    this.#registry.set(spec.id, { handle, spec });
    handle.actorCount++;
  }

  #unregister(handle: WorkerHandle, id: string): void {
    if (this.#registry.get(id)?.handle !== handle) return;
    this.#registry.delete(id);
    handle.actorCount--;
  }
}

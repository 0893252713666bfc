import type { Clock, TimerHandle } from "../async/clock.ts";
import { systemClock } from "../async/clock.ts";
import type { AdoptionRecord, ContainerSpec, RuntimeState, RuntimeBackend, StartResult } from "./runtime-backend.ts";
import type { WaitForStoppedOptions } from "./runtime-backend.ts";
import * as errors from "./runtime-errors.ts";

export interface LaggingBackendOptions {
  /** How long after the inner backend reports "stopped" this one does. */
  lagMs: number;
  /** Never report "stopped" at all: a wait for it can only end at its deadline. */
  neverReports?: boolean;
  /** Where the lag's timer comes from; tests pass a `ManualClock`. */
  clock?: Clock;
}

interface Watch {
  /** Ends the watch of the inner backend. */
  controller: AbortController;
  timer?: TimerHandle;
  /** The stopped state, once this backend reports it. */
  reported?: RuntimeState;
  whenReported: Promise<RuntimeState>;
}

/**
 * A DELIBERATE FAKE of a real behaviour that cannot be made to happen on demand: VM-based runtimes
 * (Kata Containers) learn that a container's processes exited only when they next poll the guest, so
 * their report of "stopped" comes late — or, when the agent is wedged, never. This backend wraps a
 * real one (whose processes really run and really die) and reports "stopped" only `lagMs` after the
 * inner backend does, or never with `neverReports`. Stop logic must wait for the runtime's report,
 * not for the process, and must fail at its deadline when no report comes; this is how that is tested.
 *
 * @example
 * const runtime = new LaggingBackend(new ProcessBackend(), { lagMs: 200 });
 */
export class LaggingBackend implements RuntimeBackend {
  readonly name: string;
  #inner: RuntimeBackend;
  #lagMs: number;
  #neverReports: boolean;
  #clock: Clock;
  #watches = new Map<string, Watch>();

  constructor(inner: RuntimeBackend, options: LaggingBackendOptions) {
    if (!Number.isFinite(options.lagMs) || options.lagMs < 0) {
      throw new RangeError(`Cannot create lagging backend: lagMs ${options.lagMs} is not a duration`);
    }
    this.#inner = inner;
    this.#lagMs = options.lagMs;
    this.#neverReports = options.neverReports ?? false;
    this.#clock = options.clock ?? systemClock;
    this.name = `lagging(${inner.name})`;
  }

  create(spec: ContainerSpec): Promise<void> {
    return this.#inner.create(spec);
  }

  async start(id: string): Promise<StartResult> {
    const started = await this.#inner.start(id);
    const controller = new AbortController();
    let report!: (state: RuntimeState) => void;
    const watch: Watch = { controller, whenReported: new Promise((resolve) => (report = resolve)) };
    this.#watches.set(id, watch);
    this.#inner.waitForStopped(id, { signal: controller.signal }).then(
      (state) => {
        if (this.#neverReports || controller.signal.aborted) return;
        watch.timer = this.#clock.setTimeout(() => {
          watch.reported = state;
          report(state);
        }, this.#lagMs);
      },
      () => {}, // the watch was ended by delete(); nothing to report
    );
    return started;
  }

  signal(id: string, signal?: NodeJS.Signals): Promise<void> {
    return this.#inner.signal(id, signal);
  }

  killAll(id: string): Promise<void> {
    return this.#inner.killAll(id);
  }

  /** The inner state, except that "stopped" reads as "running" until this backend reports it. */
  async state(id: string): Promise<RuntimeState> {
    const state = await this.#inner.state(id);
    const watch = this.#watches.get(id);
    if (state.status !== "stopped" || watch === undefined || watch.reported !== undefined) return state;
    return { status: "running", pid: state.pid, startedAt: state.startedAt };
  }

  async waitForStopped(id: string, options: WaitForStoppedOptions = {}): Promise<RuntimeState> {
    const watch = this.#watches.get(id);
    if (watch === undefined) {
      await this.#inner.state(id); // NOT_FOUND for an unknown id
      throw errors.failedPrecondition(`Cannot wait for container "${id}" to stop: it was never started`, id);
    }
    try {
      return await errors.abortable(watch.whenReported, options.signal);
    } catch (error) {
      throw errors.normalizeWaitError(id, error, options.signal);
    }
  }

  pids(id: string): Promise<number[]> {
    return this.#inner.pids(id);
  }

  /** Deletes through the inner backend, which refuses while processes still run. */
  async delete(id: string): Promise<void> {
    await this.#inner.delete(id);
    const watch = this.#watches.get(id);
    if (watch === undefined) return;
    watch.controller.abort();
    if (watch.timer !== undefined) this.#clock.clearTimeout(watch.timer);
    this.#watches.delete(id);
  }

  /** Adopts through the inner backend; the lag applies to its later report of "stopped". */
  close(): void {
    this.#inner.close();
  }

  adopt(spec: ContainerSpec, record: AdoptionRecord): Promise<RuntimeState> {
    return this.#inner.adopt(spec, record);
  }
}

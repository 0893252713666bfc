import { MessageChannel, Worker } from "node:worker_threads";
import type { Remote } from "comlink";
import { getLogger } from "../log/logger.ts";
import { Comlink, nodeEndpoint } from "./comlink-errors.ts";
import type { Clock } from "../async/clock.ts";
import type { Envelope } from "./envelope.ts";
import { Outbox } from "./outbox.ts";
import { withDeadline } from "../async/race.ts";
import { timeoutSignal } from "../async/timeout-signal.ts";
import { workerReady } from "./worker-protocol.ts";
import type { WorkerControl, WorkerInit } from "./worker-protocol.ts";

const log = getLogger("actor-system:pool");
const workerEntry = new URL("./worker-entry.ts", import.meta.url);

export interface WorkerHandleOptions {
  index: number;
  serial: number;
  heartbeatIntervalMs: number;
  clock: Clock;
  entry?: URL;
  onBatch(handle: WorkerHandle, batch: Envelope[]): void;
  onExit(handle: WorkerHandle, exitCode: number): void;
}

/**
 * The main thread's view of one worker: its control plane (comlink), its data plane (a batched
 * `MessagePort`) and its heartbeat. Every control call is bounded by a deadline and fails at
 * once when the worker is lost — comlink alone would leave it pending forever.
 */
export class WorkerHandle {
  readonly index: number;
  readonly serial: number;
  readonly outbox: Outbox;
  readonly ready: Promise<void>;
  actorCount = 0;
  #worker: Worker;
  #control: Remote<WorkerControl>;
  #clock: Clock;
  #lost = new AbortController();
  #heartbeat = new Int32Array(new SharedArrayBuffer(4));
  #lastBeat = -1;
  #lastBeatAt = Date.now();
  #exited: Promise<number>;

  constructor(options: WorkerHandleOptions) {
    this.index = options.index;
    this.serial = options.serial;
    this.#clock = options.clock;
    const channel = new MessageChannel();
    const init: WorkerInit = {
      serial: options.serial,
      port: channel.port2,
      heartbeat: this.#heartbeat.buffer as SharedArrayBuffer,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
    };
    this.#worker = new Worker(options.entry ?? workerEntry, { workerData: init, transferList: [channel.port2] });
    this.#exited = new Promise((resolve) => this.#worker.once("exit", resolve));
    void this.#exited.then((code) => options.onExit(this, code));
    // The exit that follows is what the system acts on; the error is logged once, here.
    this.#worker.on("error", (error) => log.error("Worker thread failed", { workerIndex: this.index, error }));
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (message !== workerReady) return;
        this.#worker.off("message", onMessage);
        resolve();
      };
      this.#worker.on("message", onMessage);
      this.#exited.then((code) => reject(new Error(`Cannot start worker ${this.index}: it exited with code ${code}`)));
    });
    this.ready.catch(() => {});
    channel.port1.on("message", (batch: Envelope[]) => options.onBatch(this, batch));
    this.outbox = new Outbox(channel.port1);
    this.#control = Comlink.wrap<WorkerControl>(nodeEndpoint(this.#worker));
  }

  get isLost(): boolean {
    return this.#lost.signal.aborted;
  }

  /** Marks the worker lost: every control call in flight or to come rejects with `reason`. */
  markLost(reason: Error): void {
    this.outbox.close();
    this.#lost.abort(reason);
  }

  /** Calls the control plane, bounded by `deadlineAt` and by the worker's loss. */
  async call<T>(operation: (control: Remote<WorkerControl>) => Promise<T>, options: { deadlineAt: number; what: string }): Promise<T> {
    await withDeadline(() => this.ready, { ...options, clock: this.#clock, signal: this.#lost.signal });
    return withDeadline(() => operation(this.#control), { ...options, clock: this.#clock, signal: this.#lost.signal });
  }

  /** How long (real time) the worker's heartbeat has not moved. */
  silentForMs(now: number): number {
    const beat = Atomics.load(this.#heartbeat, 0);
    if (beat !== this.#lastBeat) {
      this.#lastBeat = beat;
      this.#lastBeatAt = now;
    }
    return now - this.#lastBeatAt;
  }

  /**
   * Terminates the thread; resolves with whether it really exited within `graceMs`. On Deno a
   * thread caught in a synchronous loop does not (see src/platform/runtime.ts).
   */
  async terminate(graceMs = 2_000): Promise<boolean> {
    this.outbox.close();
    const { signal, release } = timeoutSignal(graceMs);
    void this.#worker.terminate().catch(() => {});
    return new Promise((resolve) => {
      signal.addEventListener("abort", () => resolve(false), { once: true });
      void this.#exited.then(() => {
        release();
        resolve(true);
      });
    });
  }
}

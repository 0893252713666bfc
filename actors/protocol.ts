/**
 * The messages between the supervisor (main thread), the sandbox and container actors (workers)
 * and the main-thread services the actors ask. Every message is a plain object keyed by `type`.
 */
import type { RuntimeState } from "../src/runtime/runtime-backend.ts";
import type { ContainerRecord } from "../src/state/records.ts";

/** The service that runs, signals and reaps container processes, on the main thread. */
export const runtimeService = "podvisor:runtime";
/** The service that writes records to disk, on the main thread. */
export const stateService = "podvisor:state";

export type SandboxMessage =
  | { type: "sandbox.add-container"; record: ContainerRecord }
  | { type: "sandbox.containers" };

export type ContainerMessage =
  | { type: "container.start" }
  /** Stop signal, wait until `deadlineAt`, kill every process, wait up to `killGraceMs`. */
  | { type: "container.stop"; deadlineAt: number; killGraceMs: number }
  /** The runtime saw the container stop by itself. */
  | { type: "container.exited"; state: RuntimeState }
  | { type: "container.record" };

export type RuntimeRequest =
  | { op: "start"; id: string }
  | { op: "signal"; id: string; signal: string }
  | { op: "kill-all"; id: string }
  /**
   * Waits for the runtime to report the container stopped, until `deadlineAt` — or, given
   * `sandboxId`, until that sandbox's stop deadline if it is or becomes earlier (a joined stop).
   * The wait after a kill gives no `sandboxId`: its grace is its own.
   */
  | { op: "wait-stopped"; id: string; sandboxId?: string; deadlineAt: number };

export type WaitStoppedResult = { stopped: true; state: RuntimeState } | { stopped: false };

export type StateRequest = { op: "save-container"; record: ContainerRecord };

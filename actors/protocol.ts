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

export type SandboxMessage = { type: "sandbox.add-container"; record: ContainerRecord };

export type ContainerMessage =
  | { type: "container.start" }
  /** Stop signal, wait until `deadlineAt`, kill every process, wait up to `killGraceMs`. */
  | { type: "container.stop"; deadlineAt: number; killGraceMs: number }
  /** The runtime saw the container stop by itself. */
  | { type: "container.exited"; state: RuntimeState };

export type RuntimeRequest =
  | { op: "start"; id: string }
  /**
   * Sends `signal`, then waits for the runtime to report the container stopped until `deadlineAt`
   * — or until its sandbox's stop deadline, if that is or becomes earlier (a joined stop).
   */
  | { op: "signal-and-wait"; id: string; sandboxId: string; signal: string; deadlineAt: number }
  /** Kills every process of the container, then waits for stopped until `deadlineAt` (its own grace). */
  | { op: "kill-and-wait"; id: string; deadlineAt: number };

export type WaitStoppedResult = { stopped: true; state: RuntimeState } | { stopped: false };

export type StateRequest = { op: "save-container"; record: ContainerRecord };

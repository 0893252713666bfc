import type { MessagePort } from "node:worker_threads";
import type { SpawnResult } from "./actor-host.ts";
import type { SpawnSpec } from "./behavior.ts";

/** What the main thread passes to a new worker. */
export interface WorkerInit {
  serial: number;
  port: MessagePort;
  heartbeat: SharedArrayBuffer;
  heartbeatIntervalMs: number;
}

/** The control plane: what the main thread may call on a worker through comlink. */
export interface WorkerControl {
  spawn(specs: SpawnSpec[]): Promise<SpawnResult[]>;
  health(): WorkerHealth;
}

export interface WorkerHealth {
  serial: number;
  actors: number;
  heapUsedBytes: number;
}

/** The first message a worker sends, once it can take calls. */
export const workerReady = "podvisor:worker-ready";

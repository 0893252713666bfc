/**
 * The entry of every worker thread: hosts actors, answers the control plane over comlink, and
 * beats a heartbeat into shared memory that the main thread watches from outside.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { ActorHost } from "./actor-host.ts";
import { Comlink, installErrorTransfer, nodeEndpoint } from "./comlink-errors.ts";
import { workerReady } from "./worker-protocol.ts";
import type { WorkerControl, WorkerInit } from "./worker-protocol.ts";

const init = workerData as WorkerInit;
const host = new ActorHost(init.serial, init.port);
const heartbeat = new Int32Array(init.heartbeat);
setInterval(() => Atomics.add(heartbeat, 0, 1), init.heartbeatIntervalMs);

const control: WorkerControl = {
  spawn: (specs) => host.spawn(specs),
  health: () => ({ serial: init.serial, actors: host.actorCount, heapUsedBytes: process.memoryUsage().heapUsed }),
};

installErrorTransfer();
Comlink.expose(control, nodeEndpoint(parentPort as NonNullable<typeof parentPort>));
parentPort?.postMessage(workerReady);

import { Worker } from "node:worker_threads";
import type { PollerInit } from "./poller.ts";

/** A poller running on its thread (`poller.ts`). */
export interface PollerHandle {
  /** Resolves once it is connected and asking. */
  ready: Promise<void>;
  /** Ends it; gives the latency of every answer it had, in ms. */
  stop(): Promise<number[]>;
}

/**
 * Starts a poller thread (`poller.ts`) asking the daemon at `init.socket`.
 *
 * @example
 * const status = startPoller({ socket, kind: "status", podSandboxId });
 * await status.ready; … const samples = await status.stop();
 */
export function startPoller(init: PollerInit): PollerHandle {
  const worker = new Worker(new URL("./poller.ts", import.meta.url), { workerData: init });
  const ready = Promise.withResolvers<void>();
  const samples = Promise.withResolvers<number[]>();
  worker.on("message", (message: { type: "ready" } | { type: "samples"; samples: number[] }) => {
    if (message.type === "ready") ready.resolve();
    else samples.resolve(message.samples);
  });
  worker.on("error", (error) => {
    ready.reject(error);
    samples.reject(error);
  });
  return {
    ready: ready.promise,
    stop: async () => {
      worker.postMessage("stop");
      const result = await samples.promise;
      await worker.terminate();
      return result;
    },
  };
}

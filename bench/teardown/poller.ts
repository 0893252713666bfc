/**
 * One poller of the teardown benchmark, on a thread of its own: it asks the daemon a status (every
 * 10 ms) or a list (every 100 ms) until told to stop, then posts the latency of each answer. Its
 * own thread, so that what the benchmark's main thread does meanwhile — reading the stop's result
 * and its progress, thousands of lines — never counts as the daemon's latency.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { ApiClient } from "../../src/cli/client.ts";

export interface PollerInit {
  socket: string;
  kind: "status" | "list";
  podSandboxId: string;
}

const init = workerData as PollerInit;

// This machine's two cores are saturated during the stop: a poller waiting for a CPU would count its
// own wait as the daemon's latency (runs with 46 samples instead of ~140 were seen). It runs at nice
// -10, this thread only (a thread's id is a target of setpriority(2) on Linux); the daemon does not.
try {
  setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), -10);
} catch (error) {
  console.error(`  (the ${init.kind} poller keeps its priority: ${(error as Error).message})`);
}
const port = parentPort as NonNullable<typeof parentPort>;
let polling = true;
port.on("message", () => (polling = false));

const connection = await ApiClient.connect(init.socket);
const ask = init.kind === "status"
  ? () => connection.call("PodSandboxStatus", { podSandboxId: init.podSandboxId })
  : async () => {
    await connection.call("ListPodSandbox", { filter: { state: "ready" } });
    await connection.call("ListContainers", { filter: { podSandboxId: init.podSandboxId } });
  };
// A list of 1,000 sandboxes is ~0.5 MB of JSON, of 10,000 ~5 MB: after a slow answer the next
// question waits 4 times as long, or asking would take a core of this 2-core machine from the stop.
const intervalMs = init.kind === "status" ? 10 : 100;
const samples: number[] = [];
port.postMessage({ type: "ready" });
while (polling) {
  const askedAt = performance.now();
  await ask();
  const tookMs = performance.now() - askedAt;
  samples.push(tookMs);
  await new Promise((resolve) => setTimeout(resolve, Math.max(intervalMs, 4 * tookMs)));
}
connection.close();
port.postMessage({ type: "samples", samples });

/**
 * Measures the actor runtime on the runtime this process runs on, and prints one JSON object.
 * `bench/main.ts actors` runs it under Node and under Deno and prints the table.
 */
import { ActorSystem } from "../../src/actor-system/index.ts";
import { runtimeName, runtimeVersion } from "../../src/platform/runtime.ts";
import { median, percentile } from "../stats.ts";
import { refs } from "./behaviors.ts";

export interface ActorRuntimeResult {
  runtime: string;
  runtimeVersion: string;
  workers: number;
  askMainToWorkerUs: { p50: number; p99: number };
  askWithinWorkerUs: { p50: number; p99: number };
  tellPerSecond: number;
  broadcastActors: number;
  broadcastGatherMs: { median: number; max: number };
}

const rounds = 5_000;
const tells = 500_000;
const broadcastActors = 10_000;
const broadcastRepeats = 5;
const later = () => ({ deadlineAt: Date.now() + 60_000 });

const system = await ActorSystem.start({ workers: 2 });
try {
  // Ask round trip, main thread ↔ worker, one at a time.
  const echo = await system.spawn({ behavior: refs.echo, worker: 0 });
  const mainMicros: number[] = [];
  for (let round = 0; round < rounds + 500; round++) {
    const startedAt = performance.now();
    await system.ask(echo, round, later());
    if (round >= 500) mainMicros.push((performance.now() - startedAt) * 1_000);
  }

  // Ask round trip between two actors on the same worker.
  const pinger = await system.spawn({ behavior: refs.pinger, near: echo });
  await system.ask(pinger, { target: echo, rounds: 500 }, later()); // warm up
  const workerMicros = await system.ask<number[]>(pinger, { target: echo, rounds }, later());

  // Tell throughput: fire-and-forget to one counter per worker, then one ask each to drain.
  const counters = [await system.spawn({ behavior: refs.counter, worker: 0 }), await system.spawn({ behavior: refs.counter, worker: 1 })];
  const tellStart = performance.now();
  for (let index = 0; index < tells; index++) system.tell(counters[index % 2], index);
  const counted = await Promise.all(counters.map((id) => system.ask<number>(id, "count", later())));
  const tellSeconds = (performance.now() - tellStart) / 1_000;
  if (counted[0] + counted[1] !== tells) throw new Error(`Cannot trust the tell count: ${counted.join("+")} != ${tells}`);

  // Broadcast and gather over 10,000 actors.
  const spawned = await system.spawnMany(Array.from({ length: broadcastActors }, () => ({ behavior: refs.echo })));
  const ids = spawned.map((result) => result.id);
  const gatherMs: number[] = [];
  for (let repeat = 0; repeat < broadcastRepeats + 1; repeat++) {
    const startedAt = performance.now();
    const outcomes = await system.broadcast(ids, "stop", later());
    if (repeat > 0) gatherMs.push(performance.now() - startedAt);
    if (outcomes.some((outcome) => outcome.status !== "acknowledged")) throw new Error("Cannot trust the broadcast: an actor missed it");
  }

  const result: ActorRuntimeResult = {
    runtime: runtimeName,
    runtimeVersion,
    workers: system.workerCount,
    askMainToWorkerUs: { p50: percentile(mainMicros, 50), p99: percentile(mainMicros, 99) },
    askWithinWorkerUs: { p50: percentile(workerMicros, 50), p99: percentile(workerMicros, 99) },
    tellPerSecond: tells / tellSeconds,
    broadcastActors,
    broadcastGatherMs: { median: median(gatherMs), max: Math.max(...gatherMs) },
  };
  console.log(JSON.stringify(result));
} finally {
  await system.shutdown();
}

import { expect, test } from "vitest";
import { ActorSystem } from "../../src/actor-system/index.ts";
import { runtimeName } from "../../src/platform/runtime.ts";
import { refs } from "./fixtures/behaviors.ts";

test("40,000 actors spawned across the pool each answer one ask", async () => {
  const count = 40_000;
  const system = await ActorSystem.start({ workers: 2 });
  try {
    const heapBefore = process.memoryUsage().heapUsed;
    const startedAt = performance.now();
    const results = await system.spawnMany(Array.from({ length: count }, () => ({ behavior: refs.echo })));
    const spawnedAt = performance.now();
    expect(results.every((result) => result.ok)).toBe(true);
    const ids = results.map((result) => result.id);
    const outcomes = await system.broadcast(ids, (id) => id, { deadlineAt: Date.now() + 60_000 });
    const answeredAt = performance.now();
    expect(outcomes.filter((outcome) => outcome.status === "acknowledged")).toHaveLength(count);
    const workers = await system.health({ deadlineAt: Date.now() + 10_000 });
    const perWorker = system.stats().actorsPerWorker;
    console.log(
      `${runtimeName}: spawned ${count} actors in ${(spawnedAt - startedAt).toFixed(0)} ms, ` +
        `asked each once in ${(answeredAt - spawnedAt).toFixed(0)} ms; actors per worker ${perWorker.join("/")}; ` +
        `main heap +${((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20).toFixed(0)} MiB, ` +
        `worker heaps ${workers.map((worker) => (worker.heapUsedBytes / 2 ** 20).toFixed(0)).join("/")} MiB`,
    );
    expect(perWorker.reduce((sum, n) => sum + n, 0)).toBe(count);
    expect(Math.min(...perWorker)).toBeGreaterThan(count / 2 / 2); // spread, not all on one worker
    expect(answeredAt - startedAt).toBeLessThan(60_000);
    expect(process.memoryUsage().rss).toBeLessThan(2 * 2 ** 30);
  } finally {
    await system.shutdown();
  }
});

import { afterEach, describe, expect, test } from "vitest";
import { ActorSystem } from "../../src/actor-system/index.ts";
import type { ActorsLost, BroadcastOutcome } from "../../src/actor-system/index.ts";
import { refs } from "./fixtures/behaviors.ts";

describe("broadcast and gather", () => {
  let system: ActorSystem | undefined;
  afterEach(async () => {
    await system?.shutdown();
    system = undefined;
  });

  test("gathers acknowledged, failed and missed outcomes, and returns at the deadline", async () => {
    system = await ActorSystem.start({ workers: 2 });
    const fast = await Promise.all([1, 2, 3].map(() => system!.spawn({ behavior: refs.echo })));
    const slow = await system.spawn({ behavior: refs.slow, init: 5_000 });
    const failing = await system.spawn({ behavior: refs.thrower });
    const startedAt = Date.now();
    const outcomes = await system.broadcast([...fast, slow, failing, "no-such-actor"], (id) => `hello ${id}`, { deadlineAt: startedAt + 500 });
    const elapsed = Date.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(490);
    expect(elapsed).toBeLessThan(3_000);
    expect(outcomes.slice(0, 3)).toEqual(fast.map((id) => ({ id, status: "acknowledged", value: `hello ${id}` })));
    expect(outcomes[3]).toEqual({ id: slow, status: "missed" });
    expect(outcomes[4]).toMatchObject({ id: failing, status: "failed", error: { code: "TEST_FAILURE" } });
    expect(outcomes[5]).toMatchObject({ status: "failed", error: { code: "NOT_FOUND" } });
  });

  test("a stuck actor's worker is replaced, its actors reported lost, and the gather still returns by its deadline", async () => {
    system = await ActorSystem.start({ workers: 2, heartbeatTimeoutMs: 300 });
    const fast = await Promise.all([1, 2, 3].map(() => system!.spawn({ behavior: refs.echo, worker: 0 })));
    const slow = await system.spawn({ behavior: refs.slow, init: 10_000, worker: 0 });
    const stuck = await system.spawn({ behavior: refs.spinner, worker: 1 });
    const neighbour = await system.spawn({ behavior: refs.echo, worker: 1 });
    const lost = new Promise<ActorsLost>((resolve) => system!.onActorsLost(resolve));
    const startedAt = Date.now();
    const outcomes = await system.broadcast([...fast, slow, stuck], "stop", { deadlineAt: startedAt + 2_000 });
    expect(Date.now() - startedAt).toBeLessThan(4_000);
    const byId = new Map(outcomes.map((outcome) => [outcome.id, outcome]));
    for (const id of fast) expect(byId.get(id)?.status).toBe("acknowledged");
    expect(byId.get(slow)?.status).toBe("missed");
    expect(byId.get(stuck)).toMatchObject({ status: "failed", error: { code: "ACTOR_LOST" } });
    const report = await lost;
    expect(report).toMatchObject({ workerIndex: 1, reason: "hung" });
    expect(report.specs.map((spec) => spec.id).sort()).toEqual([neighbour, stuck].sort());
    // The replacement worker takes new actors at once.
    const fresh = await system.spawn({ behavior: refs.echo, worker: 1 });
    await expect(system.ask(fresh, "still here", { deadlineAt: Date.now() + 5_000 })).resolves.toBe("still here");
  });

  test("returns at its deadline even while a stuck worker has not yet been noticed", async () => {
    system = await ActorSystem.start({ workers: 2, heartbeatTimeoutMs: 60_000 });
    const fast = await system.spawn({ behavior: refs.echo, worker: 0 });
    const stuck = await system.spawn({ behavior: refs.spinner, worker: 1 });
    const startedAt = Date.now();
    const outcomes: BroadcastOutcome[] = await system.broadcast([fast, stuck], "go", { deadlineAt: startedAt + 300 });
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(outcomes).toEqual([
      { id: fast, status: "acknowledged", value: "go" },
      { id: stuck, status: "missed" },
    ]);
    expect(system.stats()).toMatchObject({ pendingAsks: 0, armedTimers: 0 });
  });
});

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ActorSystem, DeadlineExceededError, ManualClock, withDeadline } from "../../src/actor-system/index.ts";
import { refs } from "./fixtures/behaviors.ts";

describe("deadlines", () => {
  let system: ActorSystem;
  beforeAll(async () => {
    system = await ActorSystem.start({ workers: 2 });
  });
  afterAll(() => system.shutdown());

  test("ask() rejects with a deadline error once its deadline passes, and leaves no timer behind", async () => {
    const id = await system.spawn({ behavior: refs.silent });
    const startedAt = Date.now();
    const error = await system.ask(id, "hello", { deadlineAt: startedAt + 100 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toMatchObject({ code: "DEADLINE_EXCEEDED", details: { actorId: id } });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(95);
    expect(system.stats()).toMatchObject({ pendingAsks: 0, armedTimers: 0 });
  });

  test("asks that share a deadline share one timer, released when the last one settles", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => system.spawn({ behavior: refs.echo })));
    const deadlineAt = Date.now() + 10_000;
    const asks = ids.map((id) => system.ask(id, id, { deadlineAt }));
    expect(system.stats().armedTimers).toBe(1);
    expect(await Promise.all(asks)).toEqual(ids);
    expect(system.stats()).toMatchObject({ pendingAsks: 0, armedTimers: 0 });
  });

  test("an ask between workers that is never answered is forgotten by the main thread after its deadline", async () => {
    const silent = await system.spawn({ behavior: refs.silent, worker: 0 });
    const relay = await system.spawn({ behavior: refs.relay, worker: 1 });
    const ask = (deadlineAt: number) => system.ask(relay, { to: silent, message: "hello", deadlineAt }, { deadlineAt: deadlineAt + 5_000 });
    await expect(ask(Date.now() + 100)).rejects.toThrow(DeadlineExceededError);
    expect(system.stats().forwardedAsks).toBe(1); // the relay gave up; the main thread still holds its ask
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await expect(ask(Date.now() + 100)).rejects.toThrow(DeadlineExceededError); // a new ask sweeps the expired one …
    expect(system.stats().forwardedAsks).toBe(1); // … and is the only one held (it would be 2 without the sweep)
  });

  test("an answer that comes in time wins, and its timer is cleared", async () => {
    const id = await system.spawn({ behavior: refs.slow, init: 20 });
    await expect(system.ask(id, undefined, { deadlineAt: Date.now() + 5_000 })).resolves.toBe("done");
    expect(system.stats().armedTimers).toBe(0);
  });
});

describe("deadlines on an injected clock", () => {
  test("ask() rejects when the injected clock reaches the deadline, without waiting in real time", async () => {
    const clock = new ManualClock(1_000_000);
    const system = await ActorSystem.start({ workers: 1, clock });
    try {
      const id = await system.spawn({ behavior: refs.silent });
      const asked = system.ask(id, "hello", { deadlineAt: clock.now() + 60_000 });
      clock.advance(59_999);
      expect(system.stats().pendingAsks).toBe(1);
      clock.advance(1);
      await expect(asked).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
      expect(clock.pendingTimers).toBe(0);
    } finally {
      await system.shutdown();
    }
  });

  test("withDeadline() clears its timer when the operation wins", async () => {
    const clock = new ManualClock();
    await expect(withDeadline(async () => "fast", { deadlineAt: 100, clock, what: "run" })).resolves.toBe("fast");
    expect(clock.pendingTimers).toBe(0);
    const never = withDeadline(() => new Promise(() => {}), { deadlineAt: 100, clock, what: "wait for nothing" });
    clock.advance(100);
    await expect(never).rejects.toThrow("Cannot wait for nothing: its deadline passed");
  });
});

import { describe, expect, test } from "vitest";
import { Limiter } from "../../src/host/host-batcher.ts";

test("Limiter runs at most N tasks at once, starts them in arrival order, and runs every one (thousands queued)", async () => {
  const limiter = new Limiter(4);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const results = await Promise.all(Array.from({ length: 3_000 }, (_, index) => limiter.run(async () => {
    started.push(index);
    most = Math.max(most, ++running);
    await new Promise((resolve) => setImmediate(resolve));
    running--;
    return index;
  })));
  expect(most).toBe(4);
  expect(started).toEqual(results);
  expect(results).toEqual(Array.from({ length: 3_000 }, (_, index) => index));
});

/** A task that counts how many of it run at once (`most`: the highest seen); it waits on `pause` while it runs. */
function concurrencyProbe(pause: () => Promise<unknown>) {
  const probe = {
    running: 0,
    most: 0,
    task: async (): Promise<void> => {
      probe.most = Math.max(probe.most, ++probe.running);
      await pause();
      probe.running--;
    },
  };
  return probe;
}

describe("Limiter hands a finished task's slot to the next waiter", () => {
  test("never runs more than its limit, even with callers arriving as a run ends", async () => {
    const limiter = new Limiter(2);
    const probe = concurrencyProbe(() => new Promise((resolve) => setTimeout(resolve, 1)));
    const { task } = probe;
    // Each finished run starts another at once: the gap a slot could be stolen in.
    const chain = async (left: number): Promise<void> => {
      if (left === 0) return;
      await limiter.run(task);
      await Promise.all([chain(left - 1), limiter.run(task)]);
    };
    await Promise.all([chain(6), chain(6), chain(6)]);
    expect(probe.most).toBe(2);
    expect(limiter.running).toBe(0);
  });

  test("a caller arriving as a run ends waits behind the waiter already there", async () => {
    const limiter = new Limiter(1);
    const probe = concurrencyProbe(() => Promise.resolve());
    const { task } = probe;
    let finish!: () => void;
    const first = limiter.run(() => new Promise<void>((resolve) => (finish = resolve)).then(() => void probe.running--));
    probe.running++;
    const waiter = limiter.run(task);
    // The first run's end and a newcomer's call, queued in this order: the slot goes to the waiter.
    finish();
    let newcomer: Promise<void> | undefined;
    queueMicrotask(() => (newcomer = limiter.run(task)));
    await Promise.all([first, waiter]);
    await newcomer;
    expect(probe.most).toBe(1);
  });

  test("runs waiters in arrival order, and a failed task frees its slot", async () => {
    const limiter = new Limiter(1);
    const order: number[] = [];
    const failing = limiter.run(async () => {
      throw new Error("boom");
    });
    const rest = [1, 2, 3].map((n) => limiter.run(async () => void order.push(n)));
    await expect(failing).rejects.toThrow("boom");
    await Promise.all(rest);
    expect(order).toEqual([1, 2, 3]);
    expect(() => new Limiter(0)).toThrow(RangeError);
  });
});

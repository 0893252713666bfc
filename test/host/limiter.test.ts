import { expect, test } from "vitest";
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

/** Behaviours for the actor-runtime benchmark; loaded by URL on the workers. */
import type { Behavior } from "../../src/actor-system/index.ts";
import { behaviorRef } from "../../src/actor-system/index.ts";

export const refs = {
  echo: behaviorRef(import.meta.url, "echo"),
  counter: behaviorRef(import.meta.url, "counter"),
  pinger: behaviorRef(import.meta.url, "pinger"),
};

export const echo: Behavior<null, unknown> = {
  start: () => null,
  receive: (_state, message) => message,
};

/** Counts what it is told; answers the count when asked `"count"`. */
export const counter: Behavior<{ n: number }, unknown> = {
  start: () => ({ n: 0 }),
  receive(state, message) {
    if (message === "count") return state.n;
    state.n++;
    return undefined;
  },
};

/** Asks `target` (on its own worker) `rounds` times, one after another; answers each round trip in µs. */
export const pinger: Behavior<null, { target: string; rounds: number }> = {
  start: () => null,
  async receive(_state, message, context) {
    const micros: number[] = [];
    for (let round = 0; round < message.rounds; round++) {
      const startedAt = performance.now();
      await context.ask(message.target, round, { deadlineAt: Date.now() + 10_000 });
      micros.push((performance.now() - startedAt) * 1_000);
    }
    return micros;
  },
};

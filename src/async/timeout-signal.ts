import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";

export interface TimeoutSignalOptions {
  /** Where the timer comes from; default the real clock. */
  clock?: Clock;
  /** The abort reason; default a `TimeoutError`, as `AbortSignal.timeout` gives. */
  reason?: () => unknown;
}

/**
 * A signal that aborts after `ms`, and the function that releases its timer. This is the one way
 * podvisor makes a timeout signal: unlike `AbortSignal.timeout`, it leaves nothing behind once
 * released (on Deno 2.9 a pending `AbortSignal.timeout` with a listener keeps the process alive
 * until it fires), and its time comes from a clock that tests can drive.
 *
 * @example
 * const { signal, release } = timeoutSignal(2_000);
 * try { await work({ signal }); } finally { release(); }
 */
export function timeoutSignal(ms: number, options: TimeoutSignalOptions = {}): { signal: AbortSignal; release(): void } {
  const clock = options.clock ?? systemClock;
  const reason = options.reason ?? (() => new DOMException(`Timed out after ${Math.max(0, ms)} ms`, "TimeoutError"));
  const controller = new AbortController();
  const timer = clock.setTimeout(() => controller.abort(reason()), Math.max(0, ms));
  return { signal: controller.signal, release: () => clock.clearTimeout(timer) };
}

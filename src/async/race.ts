import type { Clock } from "./clock.ts";
import { DeadlineExceededError } from "../errors/coded-error.ts";

/**
 * Settles with `promise`, or rejects with the reason of the first of `signals` to abort.
 * Every listener is removed when the race settles, so nothing lingers on a long-lived signal.
 */
export function raceSignals<T>(promise: Promise<T>, signals: AbortSignal[]): Promise<T> {
  const aborted = signals.find((signal) => signal.aborted);
  if (aborted !== undefined) return Promise.reject(aborted.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (event: Event) => {
      cleanup();
      reject((event.target as AbortSignal).reason);
    };
    const cleanup = () => {
      for (const signal of signals) signal.removeEventListener("abort", onAbort);
    };
    for (const signal of signals) signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/**
 * Runs `operation` until `deadlineAt` (by `clock`), or until `signal` aborts. The timer is
 * cleared as soon as the race settles.
 *
 * @example
 * await withDeadline((signal) => fetchThing({ signal }), { deadlineAt: clock.now() + 1_000, clock, what: "fetch the thing" });
 */
export async function withDeadline<T>(
  operation: (signal: AbortSignal) => Promise<T>,
  options: { deadlineAt: number; clock: Clock; what: string; signal?: AbortSignal },
): Promise<T> {
  const controller = new AbortController();
  const timer = options.clock.setTimeout(() => {
    controller.abort(new DeadlineExceededError(`Cannot ${options.what}: its deadline passed`));
  }, options.deadlineAt - options.clock.now());
  const signals = options.signal === undefined ? [controller.signal] : [controller.signal, options.signal];
  try {
    return await raceSignals(operation(controller.signal), signals);
  } finally {
    options.clock.clearTimeout(timer);
    controller.abort();
  }
}

import type { Supervisor } from "../supervisor/supervisor.ts";
import { getLogger } from "../src/log/logger.ts";

const log = getLogger("daemon");

/** How often the daemon checks the host for leaks unless told otherwise (`--leak-check-interval`). */
export const defaultLeakCheckIntervalMs = 60_000;
/** The longest delay a timer takes; a longer one fires at once (Node) instead. */
const maxTimerMs = 2 ** 31 - 1;

/** Throws a RangeError unless `intervalMs` is a whole number of ms a timer can wait (0: off). */
export function validateLeakCheckInterval(intervalMs: number): void {
  if (!Number.isInteger(intervalMs) || intervalMs < 0 || intervalMs > maxTimerMs) {
    throw new RangeError(`Cannot schedule leak checks: the interval must be a whole number of ms from 0 to ${maxTimerMs}, got ${intervalMs}`);
  }
}

export interface HostCheckSchedule {
  /** Clears the timer, aborts a check in progress at its next step, and waits for it to end. */
  stop(): Promise<void>;
}

/**
 * Runs the leak check with repair every `intervalMs` (0: never). The timer does not keep the
 * process alive; a tick that comes while the previous check still runs is skipped, so checks never
 * pile up. The periodic check removes only what the previous check found leaked too (see
 * actors/supervisor/leak-check.ts): a full interval between the two sightings.
 *
 * @example
 * const schedule = scheduleHostChecks(supervisor, { intervalMs: 60_000 });
 * await schedule.stop(); // at shutdown
 */
export function scheduleHostChecks(supervisor: Supervisor, options: { intervalMs: number }): HostCheckSchedule {
  validateLeakCheckInterval(options.intervalMs);
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running !== undefined) return log.debug("Skipped a leak check: the previous one still runs");
    running = supervisor.checkHost({ repair: true, repairOnlyRepeated: true, signal: abort.signal }).then(
      () => {},
      (error: unknown) => {
        if (!abort.signal.aborted) log.warn("Cannot check the host for leaks", { error });
      },
    ).finally(() => (running = undefined));
  };
  const timer = options.intervalMs > 0 ? setInterval(tick, options.intervalMs) : undefined;
  timer?.unref();
  return {
    async stop() {
      clearInterval(timer);
      abort.abort(new DOMException("The daemon is shutting down", "AbortError"));
      await running;
    },
  };
}

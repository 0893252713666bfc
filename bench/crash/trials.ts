/**
 * Many crash trials in a row, their kill moments spread over the stop: trial i of n is killed in
 * the i-th n-th of the range from the moment the stop-all is sent to well past its deadline.
 */
import { runCrashTrial } from "./trial.ts";
import type { CrashTrialOptions, CrashTrialResult } from "./trial.ts";
import { leakCount } from "./trial-checks.ts";

export interface CrashTrialsOptions extends Omit<CrashTrialOptions, "seed" | "killWindow"> {
  trials: number;
  /** Trial i runs with seed `seed + i`. */
  seed: number;
  /** Hears of each trial as it ends. */
  onTrial?: (result: CrashTrialResult, index: number) => void;
}

export interface CrashTrialsSummary {
  trials: number;
  leaks: number;
  lostExitCodes: number;
  /** Trials with a failure that is neither a leak nor a lost exit. */
  failedTrials: number;
  results: CrashTrialResult[];
}

/**
 * Runs the trials one after the other (never two daemons at once: the figures stay readable).
 *
 * @example
 * const summary = await runCrashTrials({ runtime: "node", trials: 3, sandboxes: 5, containers: 3, stopTimeoutMs: 1_000, seed: 1 });
 */
export async function runCrashTrials(options: CrashTrialsOptions): Promise<CrashTrialsSummary> {
  const results: CrashTrialResult[] = [];
  for (let index = 0; index < options.trials; index++) {
    const killWindow: [number, number] = [index / options.trials, (index + 1) / options.trials];
    const result = await runCrashTrial({ ...options, seed: options.seed + index, killWindow });
    results.push(result);
    options.onTrial?.(result, index);
  }
  return {
    trials: results.length,
    leaks: results.reduce((sum, result) => sum + leakCount(result), 0),
    lostExitCodes: results.reduce((sum, result) => sum + result.lostExits.length, 0),
    failedTrials: results.filter((result) => result.problems.length > 0).length,
    results,
  };
}

/** Whether a trial found nothing wrong. */
export function isCleanTrial(result: CrashTrialResult): boolean {
  return result.leaks.length === 0 && result.lostExits.length === 0 && result.problems.length === 0;
}

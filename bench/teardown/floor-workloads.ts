/**
 * The workloads of the teardown benchmark: what each container runs, and how to tell that it has
 * started (so a stop signal never arrives before a shell has set its trap).
 */

/** How a container's process reacts to the stop signal. */
export type Workload = "graceful" | "ignore-term" | "slow-exit" | "forking";

/** Every workload name, for validating input. */
export const workloads: readonly Workload[] = ["graceful", "ignore-term", "slow-exit", "forking"];

/** A command and how many processes its cgroup holds once it runs (its pid's `comm`, then the count). */
export interface WorkloadCommand {
  argv: readonly string[];
  comm: string;
  minProcesses: number;
}

/** The infra (pause) container: a sleep that dies on SIGTERM. */
export const infraCommand: WorkloadCommand = { argv: ["sleep", "100000"], comm: "sleep", minProcesses: 1 };

/**
 * The command each application container runs, per workload:
 * - graceful: `sleep`, which dies on SIGTERM;
 * - ignore-term: a shell that ignores SIGTERM (only the deadline's kill ends it);
 * - slow-exit: a shell that on SIGTERM sleeps 0–400 ms (by its pid) then exits. dash runs the trap
 *   only once its foreground `sleep 1` has ended, so the exit comes 0–1.4 s after the signal;
 * - forking: a shell with two sleeping children; SIGTERM ends the shell, the children stay until
 *   the deadline's kill.
 *
 * @example
 * workloadCommands["ignore-term"].argv; // ["sh", "-c", "trap \"\" TERM; while :; do sleep 1; done"]
 */
export const workloadCommands: Record<Workload, WorkloadCommand> = {
  graceful: infraCommand,
  "ignore-term": { argv: ["sh", "-c", 'trap "" TERM; while :; do sleep 1; done'], comm: "sh", minProcesses: 2 },
  "slow-exit": {
    argv: ["sh", "-c", 'trap "sleep 0.$(($$ % 5)); exit 0" TERM; while :; do sleep 1; done'],
    comm: "sh",
    minProcesses: 2,
  },
  forking: { argv: ["sh", "-c", "sleep 100000 & sleep 100000 & wait"], comm: "sh", minProcesses: 3 },
};

/**
 * Throws a TypeError unless `value` names a workload.
 *
 * @example
 * validateWorkload("graceful"); // ok
 */
export function validateWorkload(value: unknown): asserts value is Workload {
  if (!workloads.includes(value as Workload)) {
    throw new TypeError(`Cannot use workload ${JSON.stringify(value)}: expected one of ${workloads.join(", ")}`);
  }
}

/**
 * Quotes one word for a POSIX shell.
 *
 * @example
 * shellQuote("it's"); // "'it'\\''s'"
 */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The workloads of the raw floor: the benchmark's own (./workloads.ts, less `lagging`, which is a
 * podvisor backend's behaviour), and how to tell that each has started — so a stop signal never
 * arrives before a shell has set its trap.
 */
import { workloads as benchWorkloads } from "./workloads.ts";

/** How a container's process meets the stop signal. */
export type Workload = "graceful" | "ignore-term" | "slow-exit" | "forking";

/** Every workload name, for validating input. */
export const workloads: readonly Workload[] = ["graceful", "ignore-term", "slow-exit", "forking"];

/** A command and how many processes its cgroup holds once it runs (its pid's `comm`, then the count). */
export interface WorkloadCommand {
  argv: readonly string[];
  comm: string;
  minProcesses: number;
}

/** The infra (pause) container, as podvisor runs it (`infraCommand` in actors/supervisor/sandbox-run.ts). */
export const infraCommand: WorkloadCommand = { argv: ["sleep", "infinity"], comm: "sleep", minProcesses: 1 };

/**
 * The command each application container runs, per workload — the very argv podvisor's side of
 * the benchmark runs (./workloads.ts) — with what a started one looks like: graceful is a `sleep`;
 * ignore-term and slow-exit are shells whose first child means their trap is set; forking is a
 * shell with two children.
 *
 * @example
 * workloadCommands.forking.argv; // ["sh", "-c", "sleep 100000 & sleep 100000 & wait"]
 */
export const workloadCommands: Record<Workload, WorkloadCommand> = {
  graceful: { argv: benchWorkloads.graceful, comm: "sleep", minProcesses: 1 },
  "ignore-term": { argv: benchWorkloads["ignore-term"], comm: "sh", minProcesses: 2 },
  "slow-exit": { argv: benchWorkloads["slow-exit"], comm: "sh", minProcesses: 2 },
  forking: { argv: benchWorkloads.forking, comm: "sh", minProcesses: 3 },
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

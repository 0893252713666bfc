/**
 * The containers of a crash trial: a seeded mix of ones that end by themselves before the stop
 * (so their exit is recorded before the crash) and ones the stop has to end, each in its own way.
 */
import { uniformInt } from "pure-rand/distribution/uniformInt";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";

export type WorkloadKind = "exit-code" | "exit-signal" | "graceful" | "ignore-term" | "forking";

export interface PlannedContainer {
  kind: WorkloadKind;
  command: string[];
}

/** How often each kind is drawn (out of their sum). */
const weights: [WorkloadKind, number][] = [
  ["exit-code", 2],
  ["exit-signal", 1],
  ["graceful", 2],
  ["ignore-term", 2],
  ["forking", 2],
];

/** Exit codes handed out in turn: distinct for 120 containers, and clear of the wrapper's 125–127. */
const firstExitCode = 3;
const exitCodes = 120;
const exitSignals = ["SIGUSR2", "SIGKILL"];

/** What a shell that ignores SIGTERM prints once its trap is set. */
export const readyLine = "ready";

/**
 * Draws a trial's `count` containers. The same generator state draws the same mix (replay by seed);
 * the n-th container that exits by itself gets the n-th exit code or signal.
 *
 * @example
 * const planned = planContainers(xoroshiro128plus(7), 150);
 */
export function planContainers(rng: RandomGenerator, count: number): PlannedContainer[] {
  const total = weights.reduce((sum, [, weight]) => sum + weight, 0);
  let early = 0;
  return Array.from({ length: count }, () => {
    let draw = uniformInt(rng, 0, total - 1);
    const [kind] = weights.find(([, weight]) => (draw -= weight) < 0) ?? weights[0];
    return { kind, command: commandFor(kind, exitsEarly(kind) ? early++ : 0) };
  });
}

function commandFor(kind: WorkloadKind, nth: number): string[] {
  switch (kind) {
    case "exit-code":
      return ["sh", "-c", `exit ${firstExitCode + (nth % exitCodes)}`];
    case "exit-signal":
      return ["sh", "-c", `kill -${exitSignals[nth % exitSignals.length].slice(3)} $$`];
    case "graceful":
      return ["sleep", "1000"];
    case "ignore-term":
      return ["sh", "-c", `trap '' TERM; echo ${readyLine}; while :; do sleep 1; done`];
    case "forking":
      return ["sh", "-c", "sleep 1000 & sleep 1000 & wait"];
  }
}

/**
 * Whether a container of this kind needs an init (catatonit) as PID 1 on the OCI backends, to end as
 * it does on the process backend: PID 1 of a pid namespace ignores every signal it has no handler
 * for — its own `kill $$`, and SIGTERM to `sleep` or to the forking shell (which would otherwise
 * last until the kill at the deadline, like the one that ignores SIGTERM on purpose).
 */
export function needsInit(kind: WorkloadKind): boolean {
  return kind === "graceful" || kind === "exit-signal" || kind === "forking";
}

/** Whether a container of this kind ends by itself, before any stop. */
export function exitsEarly(kind: WorkloadKind): boolean {
  return kind === "exit-code" || kind === "exit-signal";
}

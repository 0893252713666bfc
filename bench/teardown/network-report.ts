/**
 * The `--network cni` lines of the teardown report: the stop without network and with CNI (same
 * backend and strategy, same run), the DEL floor, and issue 14's target
 * stop(cni) ≤ stop(none) + 1.3 × DEL floor.
 */
import type { CniFloorResult } from "./cni-floor.ts";
import type { PodvisorResult } from "./measure-podvisor.ts";

/** How much of the DEL floor the network may add to a stop (issue 14). */
export const networkAllowance = 1.3;

export interface NetworkTarget {
  /** stop(none) + 1.3 × the DEL floor. */
  limitMs: number;
  holds: boolean;
  /** What the network added to the stop, over the DEL floor: (stop(cni) − stop(none)) / floor. */
  addedOverFloor: number;
}

/**
 * The target check.
 *
 * @example
 * networkTarget({ noneMs: 1_600, cniMs: 2_500, delFloorMs: 1_000 }); // { limitMs: 2900, holds: true, addedOverFloor: 0.9 }
 */
export function networkTarget(times: { noneMs: number; cniMs: number; delFloorMs: number }): NetworkTarget {
  const limitMs = times.noneMs + networkAllowance * times.delFloorMs;
  return { limitMs, holds: times.cniMs <= limitMs, addedOverFloor: (times.cniMs - times.noneMs) / times.delFloorMs };
}

/** The DEL floor's rounds, e.g. "limit 16: 1200 ms, unlimited: 980 ms (chosen: unlimited)". */
export function describeFloor(floor: CniFloorResult): string {
  const rounds = floor.rounds.map((round) => `${round.concurrency === "unlimited" ? "unlimited" : `limit ${round.concurrency}`}: ${round.delMs.toFixed(0)} ms${round.failed > 0 ? ` (${round.failed} failed)` : ""}`);
  return `${rounds.join(", ")} (chosen: ${floor.chosen === "unlimited" ? "unlimited" : `limit ${floor.chosen}`})`;
}

/** The lines, one per backend and strategy measured with and without network. */
export function networkLines(results: PodvisorResult[], floor: CniFloorResult | undefined): string[] {
  const lines: string[] = [];
  if (floor !== undefined) {
    lines.push(`DEL floor (${floor.sandboxes} namespaces, the plugins called directly): ${describeFloor(floor)}`);
    if (floor.leftovers.length > 0) lines.push(`DEL floor LEFT on the host: ${floor.leftovers.slice(0, 5).join(", ")}${floor.leftovers.length > 5 ? ` … (${floor.leftovers.length})` : ""}`);
  }
  for (const cni of results.filter((r) => r.network === "cni")) {
    const none = results.find((r) => r.network === "none" && r.via === cni.via && r.backend === cni.backend && r.strategy === cni.strategy && r.runtime === cni.runtime);
    const head = `network (${cni.strategy}, ${cni.backend}${cni.via === "cri" ? ", via cri" : ""}):`;
    if (none === undefined || floor === undefined) {
      lines.push(`${head} stop with CNI ${cni.stopWallMs.toFixed(0)} ms; ${none === undefined ? "no stop without network in this run" : "no DEL floor in this run"}: no target check`);
      continue;
    }
    const target = networkTarget({ noneMs: none.stopWallMs, cniMs: cni.stopWallMs, delFloorMs: floor.delMs });
    lines.push(`${head} stop without network ${none.stopWallMs.toFixed(0)} ms; stop with CNI ${cni.stopWallMs.toFixed(0)} ms; DEL floor ${floor.delMs.toFixed(0)} ms; ` +
      `the network added ${(cni.stopWallMs - none.stopWallMs).toFixed(0)} ms = ${target.addedOverFloor.toFixed(2)}× the DEL floor`);
    lines.push(`${head} target stop(cni) ≤ stop(none) + ${networkAllowance} × DEL floor = ${target.limitMs.toFixed(0)} ms: ${target.holds ? "HOLDS" : "DOES NOT HOLD"} (${cni.stopWallMs.toFixed(0)} ms)`);
  }
  return lines;
}

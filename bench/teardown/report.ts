/**
 * The teardown benchmark's printed report: one table (a column per podvisor run, then the floors),
 * then the ratios the targets are read from, all of one run.
 */
import Table from "cli-table3";
import { percentile } from "../stats.ts";
import type { CFloorResult } from "./c-floor-plan.ts";
import type { FloorResult } from "./floor.ts";
import type { PodvisorResult } from "./measure-podvisor.ts";
import type { CniFloorResult } from "./cni-floor.ts";
import { networkLines } from "./network-report.ts";

/** What was run. */
export interface ReportRun {
  sandboxes: number;
  containers: number;
  workload: string;
  timeoutMs: number;
  rootfs: boolean;
}

/** The floors measured beside podvisor; a missing one is left out, with the reason when there is one. */
export interface ReportFloors {
  own?: FloorResult;
  c?: CFloorResult;
  cSkipped?: string;
  /** The DEL floor of `--network cni`. */
  cni?: CniFloorResult;
}

/** A podvisor run's column name. */
export function runName(result: PodvisorResult): string {
  return `podvisor ${result.strategy} ${result.backend}${result.network === "cni" ? " cni" : ""}${result.via === "cri" ? " via CRI" : ""} (${result.runtime})`;
}

/**
 * Prints the table and the ratios to stdout.
 *
 * @example
 * printReport(run, results, { own, c });
 */
export function printReport(run: ReportRun, results: PodvisorResult[], floors: ReportFloors): void {
  const { own, c } = floors;
  const cHead = c?.extrapolatedFrom ? `C floor (from ${c.extrapolatedFrom.sandboxes})` : "C floor";
  const title = `${run.sandboxes} × ${run.containers} ${run.workload}${run.rootfs ? ", rootfs" : ""}, timeout ${run.timeoutMs / 1_000} s`;
  const table = new Table({ head: [title, ...results.map(runName), ...(own ? ["own floor"] : []), ...(c ? [cHead] : [])] });
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const row = (label: string, pick: (r: PodvisorResult) => string, ownCell = "", cCell = "") =>
    table.push([label, ...results.map(pick), ...(own ? [ownCell] : []), ...(c ? [cCell] : [])]);
  const spread = (values: number[]) => [50, 95, 99, 100].map((p) => percentile(values, p).toFixed(0)).join(" / ") + " ms";
  const perSandbox = (totalMs: number) => `${(totalMs / run.sandboxes).toFixed(3)} ms`;

  row("stop-all wall time", (r) => ms(r.stopWallMs), own ? ms(own.teardownMs) : "", c ? `${ms(c.totalMs)}${c.extrapolatedFrom ? " (extrapolated)" : ""}` : "");
  row("cost per sandbox (wall time / N)", (r) => perSandbox(r.stopWallMs), own ? perSandbox(own.teardownMs) : "", c ? `${c.perSandboxMs.toFixed(3)} ms${c.extrapolatedFrom ? ` (at ${c.extrapolatedFrom.sandboxes})` : ""}` : "");
  if (results.some((r) => r.cri !== undefined)) {
    row("CRI: every StopContainer, then every StopPodSandbox", (r) => (r.cri === undefined ? "" : `${ms(r.cri.stopContainersMs)} (${r.cri.containers}) + ${ms(r.cri.stopPodSandboxesMs)}`));
  }
  row("per sandbox from the stop-all request p50 / p95 / p99 / max", (r) => spread(r.latencyFromRequestMs));
  row("per sandbox, its own stop (daemon's timing) p50 / p95 / p99 / max", (r) => spread(r.latencyMs));
  row("failed sandboxes", (r) => String(r.failed));
  for (const result of results) for (const error of result.errors) console.error(`${runName(result)}: ${error}`);
  row("sandboxes not removed after the run", (r) => String(r.removeErrors.length));
  row("left on the host after the daemon exited", (r) => (r.leftovers.length === 0 ? "0" : `${r.leftovers.length}: ${r.leftovers.slice(0, 3).join(", ")}`));
  for (const result of results) if (result.leftovers.length > 0) console.error(`${runName(result)} LEFT: ${result.leftovers.join(", ")}`);
  const phaseNames = [...new Set(results.flatMap((r) => Object.keys(r.phasesP50Ms)))].filter((name) => name !== "total");
  for (const phase of phaseNames) row(`  phase ${phase} (p50)`, (r) => (r.phasesP50Ms[phase] === undefined ? "" : ms(r.phasesP50Ms[phase])));
  if (own || c) {
    const phases = (entries: Record<string, number>) => Object.entries(entries).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ");
    row("  floor phases (ms)", () => "", own ? phases(own.phases) : "", c ? phases(c.run.phases) : "");
  }
  row("status during stop p50 / p99 (samples)", (r) => `${r.statusMs.p50.toFixed(1)} / ${r.statusMs.p99.toFixed(1)} ms (${r.statusMs.samples})`);
  row("list pods + containers during stop p50 / p99 (samples)", (r) => `${r.listMs.p50.toFixed(1)} / ${r.listMs.p99.toFixed(1)} ms (${r.listMs.samples})`);
  row("daemon RSS after setup / peak", (r) => `${(r.daemon.rssAfterSetupBytes / 2 ** 20).toFixed(0)} / ${(r.daemon.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
  row("daemon CPU time (whole run)", (r) => ms(r.daemon.cpuMs));
  row("actors per worker", (r) => r.daemon.actorsPerWorker.join(" / "));
  const seconds = (value: number) => `${(value / 1_000).toFixed(1)} s`;
  row("setup (run all sandboxes): wall, per sandbox", (r) => `${seconds(r.setup.wallMs)}, ${perSandbox(r.setup.wallMs)}`,
    own ? `${seconds(own.setupMs)}, ${perSandbox(own.setupMs)}` : "", c ? `${seconds(c.run.setupMs)} at ${c.run.sandboxes}` : "");
  row("setup CPU: daemon threads + its reaped children / machine", (r) =>
    `${seconds(r.setup.daemonCpuMs)} + ${seconds(r.setup.daemonChildrenCpuMs)} / ${seconds(r.setup.machineCpuMs)} (daemon ${share(r.setup.daemonCpuMs + r.setup.daemonChildrenCpuMs, r.setup.machineCpuMs)})`);
  console.log(table.toString());
  printRatios(run, results, floors);
}

function printRatios(run: ReportRun, results: PodvisorResult[], { own, c, cSkipped, cni }: ReportFloors): void {
  const times = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  if (c?.extrapolatedFrom) {
    console.log(`C floor: ${run.sandboxes} sandboxes cannot run here (${c.extrapolatedFrom.reason}); its time is an EXTRAPOLATION: ` +
      `${c.perSandboxMs.toFixed(3)} ms per sandbox measured at ${c.extrapolatedFrom.sandboxes} (${c.run.totalMs.toFixed(0)} ms) × ${run.sandboxes} = ${c.totalMs.toFixed(0)} ms.`);
  }
  if (c) console.log(`C floor command: ${c.run.command}`);
  if (cSkipped) console.log(`C floor: not run: ${cSkipped}`);
  for (const result of results.filter((r) => r.strategy === "parallel")) {
    const parts = [`${runName(result)}: ${(result.stopWallMs / run.sandboxes).toFixed(3)} ms per sandbox`];
    if (own) parts.push(`/ own floor ${times(result.stopWallMs, own.teardownMs)}`);
    if (c) parts.push(`/ C floor ${times(result.stopWallMs, c.totalMs)}${c.extrapolatedFrom ? " (extrapolated floor)" : ""}`);
    console.log(parts.join("; "));
  }
  const parallel = results.filter((r) => r.strategy === "parallel");
  for (const other of parallel.filter((r) => r.backend === "runc" || r.backend === "crun")) {
    const processRun = parallel.find((r) => r.backend === "process" && r.network === other.network && r.via === other.via);
    if (processRun) console.log(`${other.backend} / process (parallel${other.network === "cni" ? ", cni" : ""}${other.via === "cri" ? ", via cri" : ""}): ${times(other.stopWallMs, processRun.stopWallMs)}`);
  }
  for (const cri of results.filter((r) => r.via === "cri")) {
    const jsonRpc = results.find((r) => r.via === "json-rpc" && r.strategy === cri.strategy && r.backend === cri.backend && r.network === cri.network && r.runtime === cri.runtime);
    if (jsonRpc === undefined) continue;
    const ratio = cri.stopWallMs / jsonRpc.stopWallMs;
    console.log(`CRI / JSON-RPC (${cri.backend}${cri.network === "cni" ? ", cni" : ""}): ${cri.stopWallMs.toFixed(0)} ms / ${jsonRpc.stopWallMs.toFixed(0)} ms = ${times(cri.stopWallMs, jsonRpc.stopWallMs)}; ` +
      `target ≤ ${criTarget}×: ${ratio <= criTarget ? "HOLDS" : "DOES NOT HOLD"}`);
  }
  for (const sequential of results.filter((r) => r.strategy === "sequential")) {
    const same = parallel.find((r) => r.backend === sequential.backend && r.network === sequential.network);
    if (same) console.log(`sequential / parallel (${same.backend}${same.network === "cni" ? " cni" : ""}): ${times(sequential.stopWallMs, same.stopWallMs)}`);
  }
  for (const line of networkLines(results, cni)) console.log(line);
}

/** Issue 15: the CRI stop, kubelet's way, within this factor of the JSON-RPC stop-all. */
export const criTarget = 1.2;

function share(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(0)}%` : "n/a";
}

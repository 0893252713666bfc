import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Table from "cli-table3";
import { nanoid } from "nanoid";
import { percentile } from "../stats.ts";
import { measureFloor } from "./floor.ts";
import type { FloorResult } from "./floor.ts";
import { measurePodvisor } from "./measure-podvisor.ts";
import type { PodvisorResult } from "./measure-podvisor.ts";
import { latencyChart } from "./svg-chart.ts";
import { isWorkload } from "./workloads.ts";

export interface TeardownFlags {
  sandboxes: string;
  containers: string;
  workload: string;
  timeout: string;
  runtime: string;
  strategy: string;
  floor: boolean;
  out: string;
}

/**
 * `npm run bench -- teardown`: podvisor's stop-all (parallel, and/or the reference's sequential
 * way) against the raw floor of the same host work, all measured in the same run.
 */
export async function runTeardownBench(flags: TeardownFlags): Promise<void> {
  const sandboxes = Number(flags.sandboxes);
  const containers = Number(flags.containers);
  const timeoutMs = Number(flags.timeout) * 1_000;
  if (!isWorkload(flags.workload)) throw new RangeError(`Cannot benchmark: unknown workload "${flags.workload}"`);
  if (flags.runtime !== "node" && flags.runtime !== "deno") throw new RangeError(`Cannot benchmark: unknown runtime "${flags.runtime}"`);
  const strategies = flags.strategy === "both" ? (["parallel", "sequential"] as const) : [flags.strategy as "parallel" | "sequential"];
  const results: PodvisorResult[] = [];
  for (const strategy of strategies) {
    console.error(`Measuring podvisor (${strategy}, ${flags.runtime}): ${sandboxes} × ${containers} ${flags.workload}…`);
    results.push(await measurePodvisor({ sandboxes, containers, workload: flags.workload, timeoutMs, runtime: flags.runtime, strategy }));
  }
  let floor: FloorResult | undefined;
  if (flags.floor && flags.workload !== "lagging") {
    console.error("Measuring the raw floor…");
    const root = await mkdtemp(join(tmpdir(), "pvfloor-"));
    floor = await measureFloor({ sandboxes, containers, workload: flags.workload, timeoutMs, root, tag: nanoid(6).toLowerCase().replace(/[^a-z0-9]/g, "x") });
  }
  printTable({ sandboxes, containers, workload: flags.workload, timeoutMs }, results, floor);
  await mkdir(flags.out, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const base = join(flags.out, `teardown-${sandboxes}x${containers}-${flags.workload}-${stamp}`);
  await writeFile(`${base}.json`, `${JSON.stringify({ sandboxes, containers, workload: flags.workload, timeoutMs, results, floor }, null, 2)}\n`);
  await writeFile(`${base}.svg`, latencyChart(results.map((r) => ({ name: `podvisor ${r.strategy} (${r.runtime})`, latenciesMs: r.latencyMs })), {
    title: `Stop latency per sandbox: ${sandboxes} × ${containers} ${flags.workload}, timeout ${timeoutMs / 1_000} s`,
  }));
  console.log(`Wrote ${base}.json and ${base}.svg`);
}

function printTable(run: { sandboxes: number; containers: number; workload: string; timeoutMs: number }, results: PodvisorResult[], floor: FloorResult | undefined): void {
  const table = new Table({ head: [`${run.sandboxes} × ${run.containers} ${run.workload}, timeout ${run.timeoutMs / 1_000} s`, ...results.map((r) => `podvisor ${r.strategy}`), ...(floor ? ["raw floor"] : [])] });
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const row = (label: string, pick: (r: PodvisorResult) => string, floorCell = "") => table.push([label, ...results.map(pick), ...(floor ? [floorCell] : [])]);
  row("stop-all wall time", (r) => ms(r.stopWallMs), floor ? ms(floor.teardownMs) : "");
  row("per-sandbox latency p50 / p95 / p99 / max", (r) => [50, 95, 99, 100].map((p) => percentile(r.latencyMs, p).toFixed(0)).join(" / ") + " ms");
  row("failed sandboxes", (r) => String(r.failed));
  for (const result of results) for (const error of result.errors) console.error(`podvisor ${result.strategy}: ${error}`);
  const phaseNames = [...new Set(results.flatMap((r) => Object.keys(r.phasesP50Ms)))].filter((name) => name !== "total");
  for (const phase of phaseNames) row(`  phase ${phase} (p50)`, (r) => (r.phasesP50Ms[phase] === undefined ? "" : ms(r.phasesP50Ms[phase])));
  if (floor) table.push(["  floor phases", ...results.map(() => ""), Object.entries(floor.phases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")]);
  row("status during stop p50 / p99 (samples)", (r) => `${r.statusMs.p50.toFixed(1)} / ${r.statusMs.p99.toFixed(1)} ms (${r.statusMs.samples})`);
  row("list pods + containers during stop p50 / p99", (r) => `${r.listMs.p50.toFixed(1)} / ${r.listMs.p99.toFixed(1)} ms (${r.listMs.samples})`);
  row("daemon RSS before stop / peak", (r) => `${(r.daemon.rssBeforeStopBytes / 2 ** 20).toFixed(0)} / ${(r.daemon.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
  row("daemon CPU time (whole run)", (r) => ms(r.daemon.cpuMs));
  row("actors per worker", (r) => r.daemon.actorsPerWorker.join(" / "));
  row("setup (run all sandboxes)", (r) => `${(r.setupMs / 1_000).toFixed(1)} s`, floor ? `${(floor.setupMs / 1_000).toFixed(1)} s` : "");
  console.log(table.toString());
  const parallel = results.find((r) => r.strategy === "parallel");
  const sequential = results.find((r) => r.strategy === "sequential");
  if (parallel && floor) console.log(`podvisor / floor: ${(parallel.stopWallMs / floor.teardownMs).toFixed(2)}×`);
  if (parallel && sequential) console.log(`sequential / podvisor: ${(sequential.stopWallMs / parallel.stopWallMs).toFixed(2)}×`);
}

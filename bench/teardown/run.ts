import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nanoid } from "nanoid";
import { makeBenchNetwork } from "./bench-network.ts";
import type { BenchNetwork } from "./bench-network.ts";
import { makeBusyboxRootfs } from "./busybox-rootfs.ts";
import { measureCFloor } from "./c-floor-plan.ts";
import type { CFloorResult } from "./c-floor-plan.ts";
import { measureCniFloor } from "./cni-floor.ts";
import type { CniFloorResult } from "./cni-floor.ts";
import { measureFloor } from "./floor.ts";
import type { FloorResult } from "./floor.ts";
import { measurePodvisor } from "./measure-podvisor.ts";
import type { PodvisorResult } from "./measure-podvisor.ts";
import { printReport, runName } from "./report.ts";
import { latencyChart } from "./svg-chart.ts";
import { isBackend, isOciBackend, isWorkload } from "./workloads.ts";
import type { Backend } from "./workloads.ts";

export interface TeardownFlags {
  sandboxes: string;
  containers: string;
  workload: string;
  timeout: string;
  runtime: string;
  strategy: string;
  backend: string;
  network: string;
  via: string;
  rootfs: boolean;
  floor: boolean;
  cFloor: string | false;
  cFloorFallback?: string;
  out: string;
}

/** The C floor's source, `../shared/bench/rawfloor.c` from the project root. */
export const defaultCFloorSource = fileURLToPath(new URL("../../../shared/bench/rawfloor.c", import.meta.url));

/**
 * `npm run bench -- teardown`: podvisor's stop-all (parallel, and/or the reference's sequential
 * way; on one backend or several) against its own floor of the same host work and the C floor
 * (`rawfloor.c`), all measured in the same run.
 */
export async function runTeardownBench(flags: TeardownFlags): Promise<void> {
  const sandboxes = wholeNumber(flags.sandboxes, "--sandboxes", 1);
  const containers = wholeNumber(flags.containers, "--containers", 0);
  const timeoutMs = Math.round(Number(flags.timeout) * 1_000);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0) throw new RangeError(`Cannot benchmark: --timeout must be seconds ≥ 0, got "${flags.timeout}"`);
  const workload = flags.workload;
  if (!isWorkload(workload)) throw new RangeError(`Cannot benchmark: unknown workload "${workload}"`);
  const runtime = flags.runtime;
  if (runtime !== "node" && runtime !== "deno") throw new RangeError(`Cannot benchmark: unknown runtime "${runtime}"`);
  const backends = flags.backend.split(",").map((name) => name.trim());
  for (const name of backends) if (!isBackend(name)) throw new RangeError(`Cannot benchmark: unknown backend "${name}" (process, runc or crun)`);
  if (workload === "lagging" && backends.some((name) => name !== "process")) throw new RangeError("Cannot benchmark: the lagging workload is a backend of its own (--backend lagging); give no --backend");
  if (!["parallel", "sequential", "both"].includes(flags.strategy)) throw new RangeError(`Cannot benchmark: unknown strategy "${flags.strategy}"`);
  const networks = networkModes(flags.network);
  const vias = viaModes(flags.via);
  if (vias.includes("cri") && runtime !== "node") throw new RangeError("Cannot benchmark: --via cri needs --runtime node (the CRI is served on Node only, docs/CRI.md)");
  if (vias.includes("cri") && flags.strategy !== "parallel") throw new RangeError("Cannot benchmark: --via cri stops containers kubelet's way, whatever the daemon's strategy; give --strategy parallel");
  const strategies = flags.strategy === "both" ? (["parallel", "sequential"] as const) : [flags.strategy as "parallel" | "sequential"];
  // The OCI backends need a rootfs; then every backend of the run gets it, so all do the same host work.
  const withRootfs = flags.rootfs || (backends as Backend[]).some(isOciBackend);
  const rootfsDir = withRootfs ? await mkdtemp(join(tmpdir(), "pvbench-rootfs-")) : undefined;
  const tag = nanoid(6).toLowerCase().replace(/[^a-z0-9]/g, "x");
  let network: BenchNetwork | undefined;
  try {
    if (rootfsDir !== undefined) await makeBusyboxRootfs(rootfsDir);
    if (networks.includes("cni")) {
      network = await makeBenchNetwork(tag);
      console.error(`CNI network ${network.name}: bridge ${network.bridge}, ${network.subnet}, host-local data in ${network.dataDir}`);
    }
    const results: PodvisorResult[] = [];
    for (const backend of backends as Backend[]) {
      for (const mode of networks) {
        for (const strategy of strategies) {
          for (const via of vias) {
            console.error(`Measuring podvisor (${strategy}, ${backend}, network ${mode}, ${runtime}, via ${via}): ${sandboxes} × ${containers} ${workload}${withRootfs ? ", rootfs" : ""}…`);
            results.push(await measurePodvisor({ sandboxes, containers, workload, timeoutMs, runtime, strategy, backend, rootfs: rootfsDir, network: mode === "cni" ? network : undefined, via }));
          }
        }
      }
    }
    let cni: CniFloorResult | undefined;
    if (network !== undefined) {
      console.error("Measuring the DEL floor (the CNI plugins called directly)…");
      cni = await measureCniFloor(network, { sandboxes, tag });
    }
    let own: FloorResult | undefined;
    if (flags.floor && workload !== "lagging") {
      console.error("Measuring the raw floor (own, stock tools)…");
      const root = await mkdtemp(join(tmpdir(), "pvfloor-"));
      own = await measureFloor({ sandboxes, containers, workload, timeoutMs, rootfs: withRootfs, root, tag });
    }
    const { c, cSkipped } = await cFloor(flags, { sandboxes, containers, workload, timeoutMs, overlay: withRootfs });
    printReport({ sandboxes, containers, workload, timeoutMs, rootfs: withRootfs }, results, { own, c, cSkipped, cni });
    await mkdir(flags.out, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const base = join(flags.out, `teardown-${sandboxes}x${containers}-${workload}-${backends.join("+")}${network === undefined ? "" : "-cni"}${vias.includes("cri") ? "-cri" : ""}-${stamp}`);
    await writeFile(`${base}.json`, `${JSON.stringify({ sandboxes, containers, workload, timeoutMs, rootfs: withRootfs, results, floor: own, cFloor: c, cFloorSkipped: cSkipped, cniFloor: cni, network: network === undefined ? undefined : { name: network.name, bridge: network.bridge, subnet: network.subnet } }, null, 2)}\n`);
    const markers = [
      ...(c ? [{ label: c.extrapolatedFrom ? "C floor (extrapolated)" : "C floor", atMs: c.totalMs }] : []),
      ...(own ? [{ label: "own floor", atMs: own.teardownMs }] : []),
      { label: "deadline", atMs: timeoutMs },
    ];
    await writeFile(`${base}.svg`, latencyChart(results.map((r) => ({ name: runName(r), latenciesMs: r.latencyFromRequestMs })), {
      title: `Sandboxes stopped, from the stop-all request: ${sandboxes} × ${containers} ${workload}, timeout ${timeoutMs / 1_000} s`,
      xLabel: "time since the stop-all request",
      markers,
    }));
    console.log(`Wrote ${base}.json and ${base}.svg`);
  } finally {
    if (rootfsDir !== undefined) await rm(rootfsDir, { recursive: true, force: true });
    await network?.close();
  }
}

/**
 * `--network`: "none" (the default), or "cni" — which measures "none" too, first, since the
 * target compares the two — or both named ("none,cni").
 */
export function networkModes(text: string): ("none" | "cni")[] {
  const names = text.split(",").map((name) => name.trim()).filter(Boolean);
  for (const name of names) if (name !== "none" && name !== "cni") throw new RangeError(`Cannot benchmark: unknown network "${name}" (none or cni)`);
  if (names.length === 0) throw new RangeError("Cannot benchmark: --network names no network (none or cni)");
  return names.includes("cni") ? ["none", "cni"] : ["none"];
}

/** `--via`: "json-rpc" (the default), "cri", or both ("json-rpc,cri"); the CRI run always comes with the JSON-RPC one, since the target compares the two. */
export function viaModes(text: string): ("json-rpc" | "cri")[] {
  const names = text.split(",").map((name) => name.trim()).filter(Boolean);
  for (const name of names) if (name !== "json-rpc" && name !== "cri") throw new RangeError(`Cannot benchmark: unknown --via "${name}" (json-rpc or cri)`);
  if (names.length === 0) throw new RangeError("Cannot benchmark: --via names nothing (json-rpc or cri)");
  return names.includes("cri") ? ["json-rpc", "cri"] : ["json-rpc"];
}

/** The C floor for this run, or why it was not run. */
async function cFloor(
  flags: TeardownFlags,
  run: { sandboxes: number; containers: number; workload: string; timeoutMs: number; overlay: boolean },
): Promise<{ c?: CFloorResult; cSkipped?: string }> {
  if (flags.cFloor === false) return { cSkipped: "--no-c-floor" };
  // rawfloor's containers run `sleep infinity`, which exits on SIGTERM or (-i) ignores it: the other workloads have no C twin.
  if (run.workload !== "graceful" && run.workload !== "ignore-term") return { cSkipped: `rawfloor has no "${run.workload}" workload (only graceful, and ignore-term with -i)` };
  const source = flags.cFloor;
  if (!(await access(source).then(() => true, () => false))) return { cSkipped: `${source} is not there` };
  console.error(`Measuring the C floor (${source})…`);
  const c = await measureCFloor({
    source,
    buildDir: join(flags.out, "rawfloor-build"),
    sandboxes: run.sandboxes,
    containers: run.containers,
    ignoreTerm: run.workload === "ignore-term",
    graceMs: run.timeoutMs,
    overlay: run.overlay,
    fallbackSandboxes: flags.cFloorFallback === undefined ? undefined : wholeNumber(flags.cFloorFallback, "--c-floor-fallback", 1),
  });
  return { c };
}

function wholeNumber(text: string, flag: string, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`Cannot benchmark: ${flag} must be a whole number ≥ ${min}, got "${text}"`);
  return value;
}

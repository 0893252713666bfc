/**
 * The raw floor of teardown: the host work of stopping N sandboxes × M containers — signal, wait,
 * kill, unmount, remove namespaces and cgroups — done with no daemon and as few processes as the
 * stock tools allow. The teardown benchmark sets podvisor's stop-all against it.
 *
 *   node bench/teardown/floor.ts --sandboxes 1000 --containers 3 --workload graceful --timeout 2 \
 *     [--rootfs] [--unmount umount|syscalls] [--json]
 */
import { mkdtemp } from "node:fs/promises";
import { parseArgs } from "node:util";
import { cleanUpFloor, findFloorLeftovers, isFloorClean } from "./floor-cleanup.ts";
import { emptyFloorHost, setUpFloor } from "./floor-setup.ts";
import { tearDownFloor } from "./floor-teardown.ts";
import { validateWorkload } from "./floor-workloads.ts";
import type { Workload } from "./floor-workloads.ts";

export type { Workload } from "./floor-workloads.ts";

/** One floor run. */
export interface FloorOptions {
  sandboxes: number;
  /** Application containers per sandbox, besides the infra one. */
  containers: number;
  workload: Workload;
  /** How long the containers get to exit after SIGTERM before their cgroups are killed. */
  timeoutMs: number;
  /** Also an overlay rootfs per container (infra included). */
  rootfs?: boolean;
  /**
   * How the teardown unmounts: `"umount"` (default) one umount(8) for every path, through
   * unmountMany; `"syscalls"` one umount2(2) per path from a single process — the true floor with
   * overlays, which umount(8) unmounts in O(N²) (see floor-unmount.ts).
   */
  unmountWith?: "umount" | "syscalls";
  /** A fresh directory (under /tmp); the run fills it and deletes it, whatever was in it. */
  root: string;
  /** Unique per run: netns `pvfloor-<tag>-<i>`, cgroups `pvfloor-<tag>/sb-<i>/c-<j>`. */
  tag: string;
}

/** What one floor run measured (milliseconds). */
export interface FloorResult {
  /** Making every host resource and starting every process; not part of the teardown. */
  setupMs: number;
  teardownMs: number;
  /** Per teardown step: `signal`, `wait-exit`, `kill` (only when a deadline passed), `unmount`, `netns-removal`, `cgroup-removal`. */
  phases: Record<string, number>;
  /** Helper processes the teardown ran (`umount` or `perl`, and `ip`); the rest are direct calls. */
  processes: number;
}

/**
 * Sets up the host, tears it down timed, checks that nothing is left (throws if anything is), and
 * always cleans up — also when setup or teardown fails.
 *
 * @example
 * const root = await mkdtemp("/tmp/pvfloor-");
 * const { teardownMs, phases } = await measureFloor({ sandboxes: 100, containers: 3, workload: "graceful", timeoutMs: 2_000, root, tag: "a1" });
 */
export async function measureFloor(options: FloorOptions): Promise<FloorResult> {
  validateFloorOptions(options);
  const host = emptyFloorHost(options.tag);
  let result: FloorResult | undefined;
  let failure: unknown;
  try {
    const setupStartedAt = performance.now();
    await setUpFloor(options, host);
    const setupMs = performance.now() - setupStartedAt;
    const teardown = await tearDownFloor(host, options);
    const left = await findFloorLeftovers(options);
    if (!isFloorClean(left)) throw new Error(`Cannot finish the floor: the teardown left ${JSON.stringify(left)}`);
    result = { setupMs, ...teardown };
  } catch (error) {
    failure = error;
  }
  await cleanUpFloor(host, options).catch((error: unknown) => void (failure ??= error));
  const left = await findFloorLeftovers(options);
  if (failure === undefined && !isFloorClean(left)) failure = new Error(`Cannot clean up the floor: left ${JSON.stringify(left)}`);
  if (failure !== undefined || result === undefined) throw failure;
  return result;
}

function validateFloorOptions(options: FloorOptions): void {
  for (const key of ["sandboxes", "containers", "timeoutMs"] as const) {
    const value = options[key];
    if (!Number.isSafeInteger(value) || value < (key === "sandboxes" ? 1 : 0)) {
      throw new RangeError(`Cannot measure the floor: ${key} must be a whole number ≥ ${key === "sandboxes" ? 1 : 0}, got ${value}`);
    }
  }
  validateWorkload(options.workload);
  if (![undefined, "umount", "syscalls"].includes(options.unmountWith)) throw new TypeError(`Cannot measure the floor: unmountWith must be "umount" or "syscalls", got ${JSON.stringify(options.unmountWith)}`);
  if (!/^[A-Za-z0-9_]{1,32}$/.test(options.tag)) throw new TypeError(`Cannot measure the floor: tag must be 1-32 of [A-Za-z0-9_], got ${JSON.stringify(options.tag)}`);
  if (!/^\/[^/]+\/./.test(options.root)) throw new RangeError(`Cannot measure the floor: root must be an absolute path below a top-level directory, got ${options.root}`);
}

/** The command line: runs one floor and prints it as a table, or as JSON with `--json`. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sandboxes: { type: "string", default: "100" },
      containers: { type: "string", default: "3" },
      workload: { type: "string", default: "graceful" },
      timeout: { type: "string", default: "2" },
      rootfs: { type: "boolean", default: false },
      unmount: { type: "string", default: "umount" },
      json: { type: "boolean", default: false },
    },
  });
  const { workload, unmount } = values;
  validateWorkload(workload);
  if (unmount !== "umount" && unmount !== "syscalls") throw new TypeError(`Cannot use --unmount ${unmount}: expected umount or syscalls`);
  const tag = Math.random().toString(36).slice(2, 10);
  const options: FloorOptions = {
    sandboxes: Number(values.sandboxes),
    containers: Number(values.containers),
    workload,
    timeoutMs: Math.round(Number(values.timeout) * 1_000),
    rootfs: values.rootfs,
    unmountWith: unmount,
    root: await mkdtemp(`/tmp/pvfloor-${tag}-`),
    tag,
  };
  const result = await measureFloor(options);
  if (values.json) {
    console.log(JSON.stringify({ ...options, ...result }, null, 2));
    return;
  }
  const title = `raw floor: ${options.sandboxes} sandboxes × (1 + ${options.containers}) ${workload}${options.rootfs ? ", rootfs" : ""}, unmount with ${unmount}`;
  const rows: [string, number][] = [["setup", result.setupMs], ["teardown", result.teardownMs], ...Object.entries(result.phases).map(([name, ms]): [string, number] => [`  ${name}`, ms])];
  console.log(title);
  for (const [name, ms] of rows) console.log(`${name.padEnd(18)} ${ms.toFixed(1).padStart(9)} ms`);
  console.log(`${"helper processes".padEnd(18)} ${String(result.processes).padStart(9)}`);
}

if (import.meta.main) await main();

/**
 * The C floor at the benchmark's N: run at N when the machine allows it; when rawfloor refuses N
 * (one descriptor per process, 20,000 allowed here: ~4,900 sandboxes × 3 at most), run it at the
 * largest N it can and take its cost per sandbox there times N — said as an extrapolation.
 */
import { readFile } from "node:fs/promises";
import { buildCFloor, runCFloor } from "./c-floor.ts";
import type { CFloorRun, CFloorRunOptions } from "./c-floor.ts";

/** The C floor for one benchmark run. */
export interface CFloorOptions extends CFloorRunOptions {
  /** rawfloor.c. */
  source: string;
  /** Where the binary is built (under bench/results/, or a temp folder; never beside the source). */
  buildDir: string;
  /** The N to run at when N is refused; default {@link largestCFloorSandboxes} of the open-file limit. */
  fallbackSandboxes?: number;
}

/** The C floor's teardown at the benchmark's N. */
export interface CFloorResult {
  /** At the benchmark's N: measured, or `perSandboxMs` × N when `extrapolatedFrom` is set. */
  totalMs: number;
  perSandboxMs: number;
  /** Set when N was refused: the N actually run, and rawfloor's reason. */
  extrapolatedFrom?: { sandboxes: number; reason: string };
  /** The run itself (at N, or at the fallback N). */
  run: CFloorRun;
}

/** rawfloor keeps this many descriptors besides one per process (its own check). */
const spareDescriptors = 64;

/**
 * Builds and runs the C floor for `options.sandboxes`; falls back to the largest N as described
 * above. Progress and the fallback are said on stderr.
 *
 * @example
 * const floor = await measureCFloor({ source, buildDir, sandboxes: 10_000, containers: 3, ignoreTerm: false, graceMs: 10_000, overlay: false });
 * floor.extrapolatedFrom?.sandboxes; // 4800
 */
export async function measureCFloor(options: CFloorOptions): Promise<CFloorResult> {
  const binary = await buildCFloor(options.source, options.buildDir);
  const first = await runCFloor(binary, options);
  if (!("tooLarge" in first)) return { totalMs: first.totalMs, perSandboxMs: first.perSandboxMs, run: first };
  const limit = options.fileLimit ?? (await openFileLimit());
  const fallback = options.fallbackSandboxes ?? largestCFloorSandboxes(options.containers, limit);
  console.error(`  The C floor cannot run ${options.sandboxes} sandboxes here: ${first.message}`);
  console.error(`  Measuring it at ${fallback} sandboxes instead; its cost at ${options.sandboxes} is extrapolated from that.`);
  if (fallback < 1 || fallback >= options.sandboxes) throw new RangeError(`Cannot extrapolate the C floor: it cannot run ${options.sandboxes} sandboxes, and the fallback is ${fallback}`);
  const second = await runCFloor(binary, { ...options, sandboxes: fallback });
  if ("tooLarge" in second) throw new Error(`Cannot run the C floor at ${fallback} sandboxes either: ${second.message}`);
  return {
    totalMs: second.perSandboxMs * options.sandboxes,
    perSandboxMs: second.perSandboxMs,
    extrapolatedFrom: { sandboxes: fallback, reason: first.message },
    run: second,
  };
}

/**
 * The largest N the C floor is run at under an open-file limit: what fits (N × (M + 1) + 64
 * descriptors), less 3% for safety, rounded down to a hundred (to ten below 1,000).
 *
 * @example
 * largestCFloorSandboxes(3, 20_000); // 4800
 */
export function largestCFloorSandboxes(containers: number, fileLimit: number): number {
  const fits = Math.floor((fileLimit - spareDescriptors) / (containers + 1));
  const safe = fits * 0.97;
  const step = safe >= 1_000 ? 100 : safe >= 100 ? 10 : 1;
  return Math.max(0, Math.floor(safe / step) * step);
}

/** This process's hard limit of open files (children inherit it), from /proc/self/limits. */
export async function openFileLimit(): Promise<number> {
  const text = await readFile("/proc/self/limits", "utf8");
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(text)?.[1];
  return hard === undefined || hard === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(hard);
}

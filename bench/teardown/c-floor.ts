/**
 * The C floor of teardown: `../shared/bench/rawfloor.c` (a program doing only the host work of a
 * stop with direct system calls, on 2 threads), built with gcc into a folder of the benchmark's own
 * and run with the benchmark's N and M. This file builds it, runs it once and reads its result line;
 * c-floor-plan.ts decides at which N (it cannot run every N here).
 */
import { createHash } from "node:crypto";
import { access, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { nanoid } from "nanoid";
import { cleanUpCFloor } from "./c-floor-cleanup.ts";

/** One run of rawfloor. */
export interface CFloorRunOptions {
  sandboxes: number;
  /** Containers per sandbox, besides the pause process (`-m`). */
  containers: number;
  /** The containers ignore SIGTERM (`-i`): the kill at the deadline is needed. */
  ignoreTerm: boolean;
  /** Grace before the kill (`-g`), ms. */
  graceMs: number;
  /** An overlay mount per container (`-o`), as when the containers have a rootfs. */
  overlay: boolean;
  /** Run it under this open-file limit (soft and hard) instead of the benchmark's own: for tests. */
  fileLimit?: number;
  /** Its names' prefix (`pvrf` and letters or digits); default a fresh one. For tests. */
  prefix?: string;
}

/** What one run measured, in ms (rawfloor's own names, less the `_ms`). */
export interface CFloorRun {
  sandboxes: number;
  setupMs: number;
  /** The teardown: the figure to compare. */
  totalMs: number;
  perSandboxMs: number;
  /** `kill_reap`, `ovl_umount`, `shm_umount`, `netns_del`, `cgroup_rmdir`. */
  phases: Record<string, number>;
  /** The command line it ran, to run it again by hand. */
  command: string;
}

/** A run refused because N × (M + 1) descriptors exceed the open-file limit (rawfloor exits 2). */
export interface CFloorTooLarge {
  tooLarge: true;
  /** rawfloor's own words: "N sandboxes need … descriptors; this process may open …". */
  message: string;
}

/**
 * Builds `source` with `gcc -O2 -Wall -pthread` into `buildDir` (never next to the source) and
 * gives the binary's path; a binary of the same source (by hash) is reused.
 *
 * @example
 * const binary = await buildCFloor("../shared/bench/rawfloor.c", "bench/results/rawfloor");
 */
export async function buildCFloor(source: string, buildDir: string): Promise<string> {
  const hash = createHash("sha256").update(await readFile(source)).digest("hex").slice(0, 12);
  await mkdir(buildDir, { recursive: true });
  const binary = join(buildDir, `rawfloor-${hash}`);
  if (await access(binary).then(() => true, () => false)) return binary;
  const built = await execa("gcc", ["-O2", "-Wall", "-pthread", "-o", binary, source], { reject: false, all: true });
  if (built.exitCode !== 0) throw new Error(`Cannot build the C floor from ${source}: gcc exited ${built.exitCode}: ${built.all}`);
  return binary;
}

/**
 * Runs the C floor once (`-t par -j 2 -c`, with `-i`, `-g`, `-o` as asked) under a prefix of its
 * own (`-p pvrf…`). Gives its result, or {@link CFloorTooLarge} when N is too large for the
 * open-file limit; throws on any other failure, after removing whatever the failed run left.
 *
 * @example
 * const run = await runCFloor(binary, { sandboxes: 1000, containers: 3, ignoreTerm: false, graceMs: 10_000, overlay: false });
 * if (!("tooLarge" in run)) console.log(run.totalMs);
 */
export async function runCFloor(binary: string, options: CFloorRunOptions): Promise<CFloorRun | CFloorTooLarge> {
  validate(options);
  const prefix = options.prefix ?? `pvrf${nanoid(8).replace(/[^A-Za-z0-9]/g, "x")}`;
  const args = ["-n", String(options.sandboxes), "-m", String(options.containers), "-t", "par", "-j", "2", "-c", "-g", String(options.graceMs), "-p", prefix];
  if (options.ignoreTerm) args.push("-i");
  if (options.overlay) args.push("-o");
  // Setting up thousands of sandboxes takes minutes on a busy 2-core machine: bound it generously.
  const timeout = 10 * 60_000 + options.sandboxes * (options.containers + 1) * 50 + options.graceMs;
  // Its output goes to files, not pipes: the processes of a run that failed halfway inherit
  // them and live on until cleaned up, and a pipe would not end before they do. A shell opens the
  // files (and lowers the open-file limit when asked), then becomes rawfloor.
  const outputDir = await mkdtemp(join(tmpdir(), "pvrf-output-"));
  const [outFile, errFile] = [join(outputDir, "stdout"), join(outputDir, "stderr")];
  try {
    const limit = options.fileLimit === undefined ? "" : 'ulimit -n "$PVRF_LIMIT" || exit 97; ';
    const env = { PVRF_OUT: outFile, PVRF_ERR: errFile, PVRF_LIMIT: String(options.fileLimit ?? "") };
    const script = `exec >"$PVRF_OUT" 2>"$PVRF_ERR"; ${limit}exec "$0" "$@"`;
    const result = await execa("sh", ["-c", script, binary, ...args], { reject: false, timeout, stdio: "ignore", env });
    const [stdout, stderr] = [await readFile(outFile, "utf8"), (await readFile(errFile, "utf8")).trim()];
    const command = [binary, ...args].join(" ");
    if (result.exitCode === 2 && /sandboxes need \d+ descriptors/.test(stderr)) return { tooLarge: true, message: stderr };
    const line = stdout.split("\n").find((text) => text.startsWith("impl=c "));
    if (result.exitCode !== 0 || line === undefined) {
      await cleanUpCFloor(prefix).catch((error: unknown) => console.error(`  (cleaning up after the C floor failed: ${(error as Error).message})`));
      throw new Error(`Cannot run the C floor (${command}): ${result.shortMessage ?? `exit ${result.exitCode}`}: ${stderr.slice(-500)}`);
    }
    if (stderr !== "") console.error(`  C floor said: ${stderr.slice(0, 500)}`);
    return { ...parseResultLine(line), command };
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

/**
 * Reads rawfloor's result line (`key=value` pairs, times in ms).
 *
 * @example
 * parseResultLine("impl=c mode=par N=2 … total_ms=4.2 per_sandbox_ms=2.1 …").totalMs; // 4.2
 */
export function parseResultLine(line: string): Omit<CFloorRun, "command"> {
  const fields = new Map(line.trim().split(/\s+/).map((pair) => pair.split("=", 2) as [string, string]));
  const number = (key: string): number => {
    const value = Number(fields.get(key));
    if (!fields.has(key) || !Number.isFinite(value)) throw new Error(`Cannot read the C floor's result: no number ${key} in "${line}"`);
    return value;
  };
  const phases = Object.fromEntries(["kill_reap", "ovl_umount", "shm_umount", "netns_del", "cgroup_rmdir"].map((name) => [name, number(`${name}_ms`)]));
  return { sandboxes: number("N"), setupMs: number("setup_ms"), totalMs: number("total_ms"), perSandboxMs: number("per_sandbox_ms"), phases };
}

function validate(options: CFloorRunOptions): void {
  if (options.prefix !== undefined && !/^pvrf[A-Za-z0-9]{1,40}$/.test(options.prefix)) throw new TypeError(`Cannot run the C floor: prefix must be pvrf and 1-40 letters or digits, got ${JSON.stringify(options.prefix)}`);
  for (const key of ["sandboxes", "containers", "graceMs", "fileLimit"] as const) {
    const value = options[key];
    if (value === undefined && key === "fileLimit") continue;
    if (!Number.isSafeInteger(value) || (value as number) < (key === "sandboxes" ? 1 : 0)) {
      throw new RangeError(`Cannot run the C floor: ${key} must be a whole number ≥ ${key === "sandboxes" ? 1 : 0}, got ${value}`);
    }
  }
}

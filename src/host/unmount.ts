/**
 * Unmounting paths inside the daemon's root, one or many, idempotently.
 *
 * How: umount2(2) of each path, called by the command runner (command-runner.ts) — umount(8)
 * reads the whole mount table for each file it is given (600 file bind mounts among 1,225 mounts:
 * 905 ms in one umount process), and with `--lazy` for every path. umount(8) remains where the
 * runner knows no umount2 (an architecture it has no number for).
 *
 * Why two passes: every path is first unmounted plainly, and only the ones still mounted afterwards
 * — busy ones — are detached lazily, so that a busy mount is named in the log. The end state is the
 * same as a lazy detach of everything.
 */
import { dirname } from "node:path";
import { getLogger } from "../log/logger.ts";
import { CodedError } from "../errors/coded-error.ts";
import { umountFlags, umountThroughRunner } from "./command-runner.ts";
import { runHostCommand } from "./host-command.ts";
import { readMountinfo } from "./mountinfo.ts";
import type { MountInfo } from "./mountinfo.ts";
import { resolveInsideRoot } from "./paths.ts";

const log = getLogger("host:unmount");

/** Bytes of paths one umount process is given, well under Linux's ARG_MAX (2 MiB). */
const argvBudgetBytes = 256 * 1024;

/** Options of {@link unmountPath} and {@link unmountMany}. */
export interface UnmountOptions {
  /** The daemon's root; a path that resolves outside it is refused, and nothing is done to it. */
  root: string;
  signal?: AbortSignal;
}

/** What {@link unmountMany} did, path by path (resolved paths, except for `refused`). */
export interface UnmountManyResult {
  unmounted: string[];
  notMounted: string[];
  /** Paths that resolve outside the root (or could not be resolved); left untouched. */
  refused: { path: string; error: Error }[];
  /** Paths still mounted after a lazy detach. */
  failed: { path: string; error: Error }[];
}

/**
 * Unmounts one path inside the root: resolves it (symlinks included), refuses it if it lies
 * outside the root, does nothing if it is not mounted, detaches it otherwise.
 *
 * @example
 * await unmountPath("/var/lib/podvisor/shm/abc", { root: "/var/lib/podvisor" }); // "unmounted"
 */
export async function unmountPath(target: string, options: UnmountOptions): Promise<"unmounted" | "not-mounted"> {
  const result = await unmountMany([target], options);
  const problem = result.refused[0] ?? result.failed[0];
  if (problem !== undefined) throw problem.error;
  return result.unmounted.length > 0 ? "unmounted" : "not-mounted";
}

/**
 * Unmounts many paths inside the root with as few processes as it can: one read of the mount
 * table, one `umount p1 p2 …` per chunk of paths, and a `umount -l` for those still mounted.
 * Never throws for a single path: each outcome is in the result.
 *
 * @example
 * const { failed } = await unmountMany(mergedDirs, { root });
 */
export async function unmountMany(paths: readonly string[], options: UnmountOptions): Promise<UnmountManyResult> {
  const startedAt = performance.now();
  log.debug("Unmounting paths", { count: paths.length });
  const result: UnmountManyResult = { unmounted: [], notMounted: [], refused: [], failed: [] };
  const resolved = new Set<string>();
  await Promise.all(
    paths.map(async (requested) => {
      try {
        resolved.add(await resolveInsideRoot(options.root, requested));
      } catch (error) {
        result.refused.push({ path: requested, error: error as Error });
      }
    }),
  );
  let table = await readMountinfo();
  let mounted = mountedAmong(resolved, table);
  for (const target of resolved) if (!mounted.has(target)) result.notMounted.push(target);
  const targets = [...mounted.keys()];
  const failures = new Map<string, string>();
  for (const lazy of [false, true]) {
    if (mounted.size === 0) break;
    // What is mounted beneath a target goes first (a plain umount refuses a mount with mounts on it:
    // a container's bind mounts, the pod's resolv.conf), as a lazy detach would take it with it.
    const failed = await umountAll(withMountsBeneath(mounted, table), { lazy, signal: options.signal });
    if (failed.size === 0) {
      mounted = new Map();
      break;
    }
    for (const [path, why] of failed) failures.set(path, why);
    table = await readMountinfo();
    mounted = mountedAmong(mounted.keys(), table);
  }
  for (const target of targets) {
    if (!mounted.has(target)) result.unmounted.push(target);
    else result.failed.push({ path: target, error: stillMounted(target, failures) });
  }
  log.debug("Unmounted paths", {
    unmounted: result.unmounted.length,
    notMounted: result.notMounted.length,
    refused: result.refused.length,
    failed: result.failed.length,
    durationMs: Math.round(performance.now() - startedAt),
  });
  return result;
}

/** How many mounts are stacked on each of `targets` that is a mount point, in the mount table. */
function mountedAmong(targets: Iterable<string>, table: readonly MountInfo[]): Map<string, number> {
  const wanted = new Set(targets);
  const counts = new Map<string, number>();
  for (const mount of table) {
    if (wanted.has(mount.mountPoint)) counts.set(mount.mountPoint, (counts.get(mount.mountPoint) ?? 0) + 1);
  }
  return counts;
}

/**
 * The targets with every mount strictly beneath one of them, deepest first (each with its stack
 * count): the order in which one umount can take them all.
 */
function withMountsBeneath(targets: Map<string, number>, table: readonly MountInfo[]): Map<string, number> {
  const beneath = new Map<string, number>();
  for (const mount of table) {
    if (targets.has(mount.mountPoint)) continue;
    for (let dir = dirname(mount.mountPoint); dir !== "/" && dir !== "."; dir = dirname(dir)) {
      if (targets.has(dir)) {
        beneath.set(mount.mountPoint, (beneath.get(mount.mountPoint) ?? 0) + 1);
        break;
      }
    }
  }
  if (beneath.size === 0) return targets;
  const depth = (path: string) => path.split("/").length;
  return new Map([...beneath, ...targets].sort((a, b) => depth(b[0]) - depth(a[0])));
}

/** Paths per umount2 request to the runner: it unmounts them one after the other, and answers nothing else meanwhile. */
const umount2Chunk = 2_000;

/**
 * Unmounts the targets in order (each repeated once per stacked mount): by umount2(2) in the
 * command runner, or by umount(8) over chunks where the runner knows no umount2. Returns why each
 * path that failed did (an unmounted one may fail a repeat: the table reread afterwards decides).
 */
async function umountAll(
  targets: Map<string, number>,
  options: { lazy: boolean; signal?: AbortSignal },
): Promise<Map<string, string>> {
  const paths = [...targets].flatMap(([target, count]) => Array.from({ length: count }, () => target));
  const why = new Map<string, string>();
  const flags = umountFlags.noFollow | (options.lazy ? umountFlags.detach : 0);
  for (let start = 0; start < paths.length; start += umount2Chunk) {
    options.signal?.throwIfAborted();
    const chunk = paths.slice(start, start + umount2Chunk);
    const errors = await umountThroughRunner(chunk, flags);
    if (errors === undefined) return umountByCommand(paths, options);
    for (const [index, errno] of errors.entries()) if (errno !== 0) why.set(chunk[index] as string, `umount2 ${chunk[index]}: ${errnoText(errno)}`);
  }
  return why;
}

const errnoNames: Record<number, string> = { 1: "operation not permitted (EPERM)", 2: "no such file or directory (ENOENT)", 16: "target is busy (EBUSY)", 22: "not mounted (EINVAL)" };

function errnoText(errno: number): string {
  return errnoNames[errno] ?? `errno ${errno}`;
}

/** umount(8) over chunks of the paths (where the runner has no umount2); the last line it said about each failed path. */
async function umountByCommand(paths: readonly string[], options: { lazy: boolean; signal?: AbortSignal }): Promise<Map<string, string>> {
  const why = new Map<string, string>();
  const flags = options.lazy ? ["--lazy"] : [];
  let chunk: string[] = [];
  let bytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    const action = `unmount ${chunk.length === 1 ? chunk[0] : `${chunk.length} paths`}`;
    const outcome = await runHostCommand("umount", [...flags, ...chunk], { action, signal: options.signal, reject: false });
    if (outcome.failed) {
      const lines = outcome.stderr.split("\n").filter((line) => line.trim() !== "");
      for (const path of chunk) why.set(path, lines.findLast((line) => line.includes(`${path}:`)) ?? lines.at(-1) ?? outcome.shortMessage);
    }
    chunk = [];
    bytes = 0;
  };
  for (const path of paths) {
    if (bytes + path.length + 1 > argvBudgetBytes) await flush();
    chunk.push(path);
    bytes += path.length + 1;
  }
  await flush();
  return why;
}

/** The error for a path still mounted, with the last reason given for it. */
function stillMounted(target: string, why: ReadonlyMap<string, string>): Error {
  const reason = why.get(target);
  return new CodedError("HOST_COMMAND_FAILED", `Cannot unmount ${target}: ${reason ?? "still mounted"}`, { details: { path: target } });
}

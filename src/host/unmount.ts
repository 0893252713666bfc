/**
 * Unmounting paths inside the daemon's root, one or many, idempotently.
 *
 * How: umount2(2) of each path, called by the command runner (command-runner.ts) — umount(8)
 * reads the whole mount table for each file it is given (600 file bind mounts among 1,225 mounts:
 * 905 ms in one umount process), and with `--lazy` for every path. umount(8) remains where the
 * runner knows no umount2 (an architecture it has no number for).
 *
 * Why the mount table is read only for some paths: reading and parsing /proc/self/mountinfo costs
 * about a millisecond per thousand mounts, and a stop that finishes its sandboxes one at a time
 * (CNI's DELs trickling in, CRI's one StopPodSandbox each) unmounts a path or two at a time — one
 * whole-table read per sandbox, a cost quadratic in the sandboxes (~1 s of the daemon's main thread
 * in a 500-sandbox stop with CNI). So each path is first unmounted directly, repeated while it
 * succeeds (stacked mounts), until EINVAL says the last is gone. Only the paths umount2 refuses at
 * the first try go the way through the table below: EBUSY (mounts beneath it, or in use), and EINVAL
 * too — "not a mount point" may also be a mount hidden under another one (a parent bind-mounted
 * onto itself): in the table, but out of umount2's reach, which must be reported, not passed over.
 * A stop's paths are mounted, so the table is read on a retry or an idempotent redo, not per stop.
 *
 * Why two passes there: every path is first unmounted plainly, and only the ones still mounted
 * afterwards — busy ones — are detached lazily, so that a busy mount is named in the log. The end
 * state is the same as a lazy detach of everything.
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
 * Unmounts many paths inside the root with as few system calls as it can: umount2 of each path,
 * and the mount table only for the paths umount2 refuses (see the module's comment).
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
  const { unmountedOnce, unsettled } = await unmountDirectly(resolved, options.signal);
  if (unsettled.length > 0) {
    const byTable = await unmountByTable(unsettled, options.signal);
    result.failed.push(...byTable.failed);
    result.unmounted.push(...byTable.unmounted);
    // A path unmounted at least once directly and not mounted any more counts as unmounted.
    for (const path of byTable.notMounted) (unmountedOnce.has(path) ? result.unmounted : result.notMounted).push(path);
  }
  const byTableToo = new Set(unsettled);
  for (const path of unmountedOnce) if (!byTableToo.has(path)) result.unmounted.push(path);
  log.debug("Unmounted paths", {
    unmounted: result.unmounted.length,
    notMounted: result.notMounted.length,
    refused: result.refused.length,
    failed: result.failed.length,
    durationMs: Math.round(performance.now() - startedAt),
  });
  return result;
}

/** Rounds of direct umount2 for one path (each takes one mount of a stack) before the table decides. */
const maxDirectRounds = 8;

const errno = { ENOENT: 2, EINVAL: 22 } as const;

/**
 * umount2 of each path without reading the mount table, repeated while it succeeds. Returns the
 * paths unmounted at least once, and the unsettled ones for the table: refused at the first try,
 * refused otherwise than EINVAL later, still stacked after the last round, or every path where the
 * runner has no umount2.
 */
async function unmountDirectly(
  targets: Iterable<string>,
  signal: AbortSignal | undefined,
): Promise<{ unmountedOnce: Set<string>; unsettled: string[] }> {
  const unmountedOnce = new Set<string>();
  const unsettled: string[] = [];
  let pending = [...targets];
  for (let round = 0; pending.length > 0 && round < maxDirectRounds; round++) {
    const errors = await umount2Chunked(pending, umountFlags.noFollow, signal);
    if (errors === undefined) break;
    const again: string[] = [];
    for (const [index, path] of pending.entries()) {
      const code = errors[index];
      if (code === 0) {
        unmountedOnce.add(path);
        again.push(path);
      } else if (unmountedOnce.has(path) && (code === errno.EINVAL || code === errno.ENOENT)) {
        // The last of its stack is gone.
      } else unsettled.push(path);
    }
    pending = again;
  }
  unsettled.push(...pending);
  return { unmountedOnce, unsettled };
}

/**
 * The way through the mount table: the targets' stacks and what is mounted beneath them, plainly,
 * then lazily for what is still mounted.
 */
async function unmountByTable(
  targets: readonly string[],
  signal: AbortSignal | undefined,
): Promise<Pick<UnmountManyResult, "unmounted" | "notMounted" | "failed">> {
  const outcome: Pick<UnmountManyResult, "unmounted" | "notMounted" | "failed"> = { unmounted: [], notMounted: [], failed: [] };
  let table = await readMountinfo();
  let mounted = mountedAmong(targets, table);
  for (const target of targets) if (!mounted.has(target)) outcome.notMounted.push(target);
  const stacked = [...mounted.keys()];
  const failures = new Map<string, string>();
  for (const lazy of [false, true]) {
    if (mounted.size === 0) break;
    // What is mounted beneath a target goes first (a plain umount refuses a mount with mounts on it:
    // a container's bind mounts, the pod's resolv.conf), as a lazy detach would take it with it.
    const failed = await umountAll(withMountsBeneath(mounted, table), { lazy, signal });
    if (failed.size === 0) {
      mounted = new Map();
      break;
    }
    for (const [path, why] of failed) failures.set(path, why);
    table = await readMountinfo();
    mounted = mountedAmong(mounted.keys(), table);
  }
  for (const target of stacked) {
    if (!mounted.has(target)) outcome.unmounted.push(target);
    else outcome.failed.push({ path: target, error: stillMounted(target, failures) });
  }
  return outcome;
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
  const errors = await umount2Chunked(paths, flags, options.signal);
  if (errors === undefined) return umountByCommand(paths, options);
  for (const [index, code] of errors.entries()) if (code !== 0) why.set(paths[index] as string, `umount2 ${paths[index]}: ${errnoText(code)}`);
  return why;
}

/** umount2 of the paths by the runner, a chunk at a time; undefined where the runner has no umount2. */
async function umount2Chunked(paths: readonly string[], flags: number, signal: AbortSignal | undefined): Promise<number[] | undefined> {
  const errors: number[] = [];
  for (let start = 0; start < paths.length; start += umount2Chunk) {
    signal?.throwIfAborted();
    const chunk = await umountThroughRunner(paths.slice(start, start + umount2Chunk), flags);
    if (chunk === undefined) return undefined;
    errors.push(...chunk);
  }
  return errors;
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

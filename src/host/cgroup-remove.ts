import { rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CodedError, DeadlineExceededError } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";
import { killCgroup } from "./cgroup.ts";
import { descendants, isNotFound } from "./cgroup-fs.ts";
import { resolveCgroupPath } from "./cgroup-path.ts";
import { waitForCgroupEmpty } from "./cgroup-wait.ts";

const log = getLogger("host:cgroup");

/** How long a removal may spend killing and waiting for processes that keep a cgroup busy. */
export const defaultRemoveCgroupTimeoutMs = 5_000;
/** How many times removal goes round kill → wait → rmdir before it gives up. */
const maxRemoveAttempts = 3;

export interface RemoveCgroupOptions {
  signal?: AbortSignal;
  /**
   * The cgroups known to lie directly below it (a sandbox's containers'), relative to the cgroup2
   * mount: removed first without listing any directory. Only if that does not empty it is the tree
   * read — a stop of 3,000 sandboxes spent ~0.7 s of its main thread in readdir of cgroup folders.
   */
  knownChildren?: string[];
  /** Budget for killing and waiting when the cgroup is busy; default {@link defaultRemoveCgroupTimeoutMs}. */
  timeoutMs?: number;
}

/**
 * Removes a cgroup and every cgroup below it, deepest first. A cgroup that is already gone is
 * success. A cgroup still holding processes (rmdir says EBUSY) is killed, waited for until empty,
 * and tried again, a bounded number of times within the budget.
 *
 * @example
 * await removeCgroup("podvisor-x/pod-1"); // removes pod-1 and its ctr-* children
 */
export async function removeCgroup(path: string, options: RemoveCgroupOptions = {}): Promise<void> {
  const dir = await resolveCgroupPath(path);
  const startedAt = performance.now();
  const timeout = AbortSignal.timeout(options.timeoutMs ?? defaultRemoveCgroupTimeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  if (options.knownChildren !== undefined && (await removeKnown(dir, options.knownChildren))) {
    log.debug("Removed cgroup", { path, durationMs: performance.now() - startedAt });
    return;
  }
  for (let attempt = 1; ; attempt++) {
    const busy = await removeTree(dir);
    if (busy === undefined) break;
    if (attempt >= maxRemoveAttempts) {
      throw new CodedError("BUSY", `Cannot remove cgroup "${path}": still busy after ${attempt} attempts`, {
        cause: busy,
      });
    }
    log.debug("Killing processes of busy cgroup", { path, attempt });
    await killCgroup(path);
    try {
      await waitForCgroupEmpty(path, { signal });
    } catch (error) {
      if ((error as Error | undefined)?.name !== "TimeoutError") throw error;
      throw new DeadlineExceededError(`Cannot remove cgroup "${path}": processes still alive at the deadline`, {
        details: { path },
      });
    }
  }
  log.debug("Removed cgroup", { path, durationMs: performance.now() - startedAt });
}

/** rmdir of the known children, then of `dir`; false (nothing thrown) when one is busy or `dir` has others. */
async function removeKnown(dir: string, children: string[]): Promise<boolean> {
  for (const child of children) {
    const path = await resolveCgroupPath(child);
    if (dirname(path) !== dir) throw new RangeError(`Cannot remove cgroup ${child}: it does not lie directly below ${dir}`);
    if (!(await removeOne(path))) return false;
  }
  return removeOne(dir);
}

/** rmdir of one cgroup: true when it is gone, false when it is busy (processes, or cgroups below it). */
async function removeOne(path: string): Promise<boolean> {
  try {
    await rmdir(path);
  } catch (error) {
    if (isNotFound(error)) return true;
    const code = (error as { code?: unknown }).code;
    if (code === "EBUSY" || code === "ENOTEMPTY") return false;
    throw error;
  }
  return true;
}

/** rmdir of every cgroup below `dir` and then `dir`; returns the first EBUSY error, if any. */
async function removeTree(dir: string): Promise<Error | undefined> {
  const deepestFirst = (await descendants(dir)).reverse().map((relative) => join(dir, relative));
  for (const path of [...deepestFirst, dir]) {
    try {
      await rmdir(path);
    } catch (error) {
      if (isNotFound(error)) continue;
      if ((error as { code?: unknown }).code === "EBUSY") return error as Error;
      throw error;
    }
  }
  return undefined;
}

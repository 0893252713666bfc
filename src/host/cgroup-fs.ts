/** Small readers of the cgroup file system shared by `cgroup.ts`, `cgroup-wait.ts` and `cgroup-remove.ts`. */
import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Reads `populated` from an absolute cgroup directory; a missing cgroup reads as empty. The read is
 * synchronous on purpose: `cgroup.events` is a few bytes the kernel makes in memory (~5 µs), while
 * the async read of a file with no size allocates a 64 KiB buffer and makes four trips through the
 * thread pool — 4,000 of them at the end of a stop held its event loop ~150 ms.
 */
export async function readPopulated(dir: string): Promise<boolean> {
  try {
    return /^populated 1$/m.test(readFileSync(join(dir, "cgroup.events"), "utf8"));
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Paths of every cgroup below `dir`, relative to it, parents before children. */
export async function descendants(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await subdirectories(dir)) {
    found.push(name, ...(await descendants(join(dir, name))).map((relative) => `${name}/${relative}`));
  }
  return found;
}

/** Names of the cgroups directly below `dir`, sorted; none when `dir` is missing. */
export async function subdirectories(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

/** ENOENT, or ENODEV which cgroupfs returns for a file of a cgroup that is being removed. */
export function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "ENOENT" || code === "ENODEV";
}

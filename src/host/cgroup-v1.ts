/**
 * On a hybrid host runc places a container in every v1 hierarchy too (`/sys/fs/cgroup/cpu/<path>` …)
 * and `delete` removes only the container's own folder there, leaving the parents it made (the
 * sandbox's, the daemon's). They are removed here once empty — never the top one, which every
 * container creation shares and might be racing to fill (an rmdir refuses a non-empty cgroup anyway).
 */
import { readdir, rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { descendants, isNotFound } from "./cgroup-fs.ts";
import { findCgroup2Mount } from "./cgroup-path.ts";

const cgroupRoot = "/sys/fs/cgroup";

/** The v1 hierarchies mounted at `/sys/fs/cgroup/<name>` (none on a unified host). */
export async function v1Hierarchies(): Promise<string[]> {
  const mount = await findCgroup2Mount();
  if (mount === cgroupRoot) return [];
  const entries = await readdir(cgroupRoot, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory() && join(cgroupRoot, entry.name) !== mount).map((entry) => join(cgroupRoot, entry.name));
}

/**
 * Removes `path` (relative, cgroupfs form) and its empty parents below the top segment from every v1
 * hierarchy; with `includeTop`, the top one too (a test removing its own prefix). Busy or missing
 * folders are left as they are.
 */
export async function removeEmptyV1Cgroups(path: string, options: { includeTop?: boolean } = {}): Promise<void> {
  const stop = options.includeTop === true ? "." : path.split("/")[0];
  for (const hierarchy of await v1Hierarchies()) {
    for (let dir = path; dir !== "." && dir !== stop; dir = dirname(dir)) {
      if (!(await rmdir(join(hierarchy, dir)).then(() => true, (error: NodeJS.ErrnoException) => error.code === "ENOENT"))) break;
    }
    if (options.includeTop === true) await rmdir(join(hierarchy, path.split("/")[0])).catch(() => {});
  }
}

/**
 * The folders below `top` in the v1 hierarchies (relative, cgroupfs form, parents before children).
 * runc makes the same folders in every hierarchy, so one is read: what it left is in all of them.
 */
export async function listV1Cgroups(top: string): Promise<string[]> {
  const [hierarchy] = await v1Hierarchies();
  if (hierarchy === undefined) return [];
  return (await descendants(join(hierarchy, top))).map((relative) => `${top}/${relative}`);
}

/** Removes one folder (`path`, relative) from every v1 hierarchy; gone is done, busy is an EBUSY error. */
export async function removeV1Cgroup(path: string): Promise<void> {
  for (const hierarchy of await v1Hierarchies()) {
    await rmdir(join(hierarchy, path)).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }
}

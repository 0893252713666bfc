import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CodedError } from "../errors/coded-error.ts";

/** A segment of a cgroup path: a plain name, never `.` or `..`, never the root. */
const segmentPattern = /^[\w@:+.-]{1,255}$/;

let cachedMount: string | undefined;

/**
 * The mount point of the cgroup v2 hierarchy, read from `/proc/self/mountinfo` once and cached.
 * Hosts with the hybrid layout mount it at `/sys/fs/cgroup/unified`, unified hosts at `/sys/fs/cgroup`.
 * Rejects with code `UNAVAILABLE` when no cgroup2 file system is mounted.
 *
 * @example
 * const mount = await findCgroup2Mount(); // "/sys/fs/cgroup/unified"
 */
export async function findCgroup2Mount(): Promise<string> {
  if (cachedMount !== undefined) return cachedMount;
  const mount = cgroup2MountFromMountinfo(await readFile("/proc/self/mountinfo", "utf8"));
  if (mount === undefined) {
    throw new CodedError("UNAVAILABLE", "Cannot find the cgroup v2 mount: none in /proc/self/mountinfo");
  }
  cachedMount = mount;
  return mount;
}

/**
 * The first cgroup2 mount point in a mountinfo text whose root is the hierarchy's root, or undefined.
 *
 * @example
 * cgroup2MountFromMountinfo("41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
 * // "/sys/fs/cgroup/unified"
 */
export function cgroup2MountFromMountinfo(text: string): string | undefined {
  for (const line of text.split("\n")) {
    const [before, after] = line.split(" - ");
    if (after === undefined || after.split(" ")[0] !== "cgroup2") continue;
    const fields = before.split(" ");
    if (fields[3] !== "/" || fields[4] === undefined) continue;
    return fields[4].replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  }
  return undefined;
}

/**
 * Checks a cgroup path and returns it relative to the cgroup2 mount, segments joined by `/`.
 * Relative paths (`podvisor-x/pod-1/ctr-2`) are taken from the mount; an absolute path must lie
 * below the mount. The root cgroup itself is refused: killing or removing it is never intended.
 */
export function normalizeCgroupPath(path: string, mount: string): string {
  if (typeof path !== "string") throw new TypeError(`Cannot use cgroup path: expected a string, got ${typeof path}`);
  let relative = path;
  if (path.startsWith("/")) {
    if (!path.startsWith(`${mount}/`)) {
      throw new RangeError(`Cannot use cgroup path "${path}": it lies outside the cgroup2 mount ${mount}`);
    }
    relative = path.slice(mount.length + 1);
  }
  const segments = relative.split("/");
  for (const segment of segments) {
    if (!segmentPattern.test(segment) || segment === "." || segment === "..") {
      throw new RangeError(`Cannot use cgroup path "${path}": "${segment}" is not a valid cgroup name`);
    }
  }
  return segments.join("/");
}

/**
 * The absolute directory of a cgroup, after {@link normalizeCgroupPath} checked it.
 *
 * @example
 * await resolveCgroupPath("podvisor-x/pod-1"); // "/sys/fs/cgroup/unified/podvisor-x/pod-1"
 */
export async function resolveCgroupPath(path: string): Promise<string> {
  const mount = await findCgroup2Mount();
  return join(mount, normalizeCgroupPath(path, mount));
}

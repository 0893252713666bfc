/**
 * The mount table as the kernel reports it in `/proc/self/mountinfo` (proc(5)). Each exported
 * function reads the file once per call; batch callers read it once with {@link readMountinfo}
 * and filter the entries themselves.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

/** Where the calling process's mount table is. */
export const mountinfoPath = "/proc/self/mountinfo";

/** One line of mountinfo, octal escapes (`\040` for a space …) decoded. */
export interface MountInfo {
  mountId: number;
  parentId: number;
  /** `major:minor` of the device. */
  device: string;
  /** The directory of the filesystem that forms the root of this mount. */
  root: string;
  /** Where it is mounted, relative to the process's root. */
  mountPoint: string;
  mountOptions: string;
  /** Tagged fields such as `shared:1` or `master:2`. */
  optionalFields: string[];
  fsType: string;
  source: string;
  superOptions: string;
}

/**
 * Parses the text of a mountinfo file; malformed lines are skipped.
 *
 * @example
 * parseMountinfo("36 35 98:0 / /mnt\\040x rw - tmpfs shm rw,size=64k")[0].mountPoint; // "/mnt x"
 */
export function parseMountinfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const separator = fields.indexOf("-", 6);
    if (separator === -1 || fields.length < separator + 4) continue;
    mounts.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      device: fields[2],
      root: decodeOctal(fields[3]),
      mountPoint: decodeOctal(fields[4]),
      mountOptions: fields[5],
      optionalFields: fields.slice(6, separator),
      fsType: decodeOctal(fields[separator + 1]),
      source: decodeOctal(fields[separator + 2]),
      superOptions: fields[separator + 3],
    });
  }
  return mounts;
}

/**
 * Reads and parses the mount table once. The read is synchronous on purpose: the table is made by
 * the kernel in memory (no disk behind it), and it has no size to read up front, so the async read
 * went through the thread pool a page at a time, a 64 KiB buffer each — with 2,000 mounts, readings
 * during a stop held the event loop for 100–250 ms. Read at once, it takes about a millisecond.
 *
 * @example
 * const points = new Set((await readMountinfo()).map((mount) => mount.mountPoint));
 */
export async function readMountinfo(): Promise<MountInfo[]> {
  return parseMountinfo(readFileSync(mountinfoPath, "utf8"));
}

/**
 * Whether something is mounted exactly on `mountPoint`. Pass a resolved path (see
 * `resolveInsideRoot`): the table lists mount points with their symlinks resolved.
 *
 * @example
 * await isMounted("/proc"); // true
 */
export async function isMounted(mountPoint: string): Promise<boolean> {
  const wanted = path.resolve(mountPoint);
  return (await readMountinfo()).some((mount) => mount.mountPoint === wanted);
}

/**
 * Every mount on `prefix` or beneath it, deepest first (the order to unmount them in); the
 * daemon's leak check lists what is still mounted under its root with it.
 *
 * @example
 * await mountsUnder("/var/lib/podvisor"); // [] when nothing leaked
 */
export async function mountsUnder(prefix: string): Promise<MountInfo[]> {
  const base = path.resolve(prefix);
  const below = base === "/" ? "/" : `${base}/`;
  return (await readMountinfo())
    .filter((mount) => mount.mountPoint === base || mount.mountPoint.startsWith(below))
    .reverse() // of two mounts stacked on one point, the later one is on top
    .sort((a, b) => depth(b.mountPoint) - depth(a.mountPoint));
}

function depth(mountPoint: string): number {
  return mountPoint.split("/").length;
}

/** The kernel escapes space, tab, newline and backslash as three octal digits. */
function decodeOctal(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

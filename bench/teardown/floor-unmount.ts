/**
 * Unmounting many paths with direct `umount2(2)` calls from one process, for the floor.
 *
 * Why not umount(8): for a file system whose `statfs` magic libmount does not know — overlay among
 * them — umount(8) reads the whole of /proc/self/mountinfo to find each path's type, so unmounting
 * N overlays costs O(N²): 4,000 overlays among 5,000 mounts took ~40 s here, against ~18 ms for
 * 1,000 tmpfs. Node has no way to make the system call itself, so one `perl` process (perl-base is
 * an Essential package on Debian and Ubuntu) reads the paths on stdin and calls umount2 for each.
 */
import { execa } from "execa";
import { readMountinfo } from "../../src/host/mountinfo.ts";

/** umount2's system call number, per `process.arch`. */
const umount2Numbers: Partial<Record<string, number>> = { x64: 166, arm64: 39, riscv64: 39 };

/** Reads one path a line and unmounts it; "not mounted" (EINVAL) and "gone" (ENOENT) are fine. */
const perlScript = String.raw`
use Errno qw(EINVAL ENOENT);
my $failed = 0;
while (my $path = <STDIN>) {
  chomp $path;
  next if syscall($ARGV[0], $path, 0) == 0 || $! == EINVAL || $! == ENOENT;
  print STDERR "$path: $!\n";
  $failed = 1;
}
exit $failed;`;

/** What {@link unmountWithSyscalls} did. */
export interface SyscallUnmountResult {
  /** Paths still mounted afterwards (one read of the mount table tells). */
  stillMounted: string[];
  /** What perl said about the paths it could not unmount. */
  stderr: string;
}

/**
 * Unmounts every path (already resolved, not nested in one another) with one `umount2(path, 0)`
 * each, from a single `perl` process, then checks the mount table once.
 *
 * @example
 * const { stillMounted } = await unmountWithSyscalls(host.mounts);
 */
export async function unmountWithSyscalls(paths: readonly string[]): Promise<SyscallUnmountResult> {
  if (paths.length === 0) return { stillMounted: [], stderr: "" };
  const number = umount2Numbers[process.arch];
  if (number === undefined) throw new Error(`Cannot unmount with system calls: no umount2 number for ${process.arch}`);
  const outcome = await execa("perl", ["-e", perlScript, String(number)], { input: `${paths.join("\n")}\n`, reject: false });
  const wanted = new Set(paths);
  const stillMounted = (await readMountinfo()).map((mount) => mount.mountPoint).filter((point) => wanted.has(point));
  return { stillMounted, stderr: String(outcome.stderr ?? "") };
}

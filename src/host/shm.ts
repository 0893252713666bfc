/**
 * The per-sandbox shm: a tmpfs that the sandbox's containers share as `/dev/shm` (unless the
 * sandbox uses the host's IPC namespace, in which case none is made).
 */
import { mkdir } from "node:fs/promises";
import { getLogger } from "../log/logger.ts";
import { runHostCommand } from "./host-command.ts";
import { isMounted } from "./mountinfo.ts";
import { resolveInsideRoot } from "./paths.ts";
import { unmountPath } from "./unmount.ts";
import type { UnmountOptions } from "./unmount.ts";

const log = getLogger("host:shm");

/** The size of a sandbox's shm when none is asked for, as in CRI-O and Docker. */
export const defaultShmSizeBytes = 64 * 1024 * 1024;

/** Options of {@link mountShm}. */
export interface MountShmOptions {
  /** The daemon's root; the shm directory must resolve inside it. */
  root: string;
  /** The tmpfs's size limit; the kernel rounds it up to whole pages. */
  sizeBytes?: number;
  signal?: AbortSignal;
}

/**
 * Mounts a tmpfs (mode 1777, nosuid, nodev, noexec) on `path` inside the root, creating the
 * directory if needed, and returns the resolved path. Already mounted → nothing done.
 *
 * @example
 * const shmPath = await mountShm("sandboxes/abc/shm", { root: "/var/lib/podvisor" });
 */
export async function mountShm(path: string, options: MountShmOptions): Promise<string> {
  const sizeBytes = options.sizeBytes ?? defaultShmSizeBytes;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
    throw new RangeError(`Cannot mount shm: size must be a positive whole number of bytes, got ${sizeBytes}`);
  }
  const target = await resolveInsideRoot(options.root, path);
  const created = await mkdir(target, { recursive: true, mode: 0o755 });
  // Nothing can be mounted on a directory made just now; only an old one costs a read of the table.
  if (created === undefined && (await isMounted(target))) {
    log.debug("Shm is already mounted", { path: target });
    return target;
  }
  const mountOptions = `mode=1777,nosuid,nodev,noexec,size=${sizeBytes}`;
  await runHostCommand("mount", ["-t", "tmpfs", "-o", mountOptions, "shm", target], {
    action: `mount shm on ${target}`,
    signal: options.signal,
  });
  log.debug("Mounted shm", { path: target, sizeBytes });
  return target;
}

/**
 * Unmounts a sandbox's shm: resolves symlinks first (`/var/run` → `/run`), refuses with
 * `PathOutsideRootError` and touches nothing if the result lies outside the root, does nothing if
 * it is not mounted, detaches it otherwise. Safe to call again.
 *
 * @example
 * await unmountShm(shmPath, { root: "/var/lib/podvisor" }); // "unmounted", then "not-mounted"
 */
export async function unmountShm(path: string, options: UnmountOptions): Promise<"unmounted" | "not-mounted"> {
  return await unmountPath(path, options);
}

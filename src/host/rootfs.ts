/**
 * A container's root filesystem: an overlay of a read-only lower directory (the image, given by
 * the client) under a writable `upper/` kept in the container's directory inside the root.
 * Many rootfs at once are unmounted with `unmountMany` (./unmount.ts).
 */
import { mkdir, realpath, stat } from "node:fs/promises";
import { CodedError } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";
import { runHostCommand } from "./host-command.ts";
import { isMounted } from "./mountinfo.ts";
import { resolveInsideRoot } from "./paths.ts";
import { unmountPath } from "./unmount.ts";
import type { UnmountOptions } from "./unmount.ts";

const log = getLogger("host:rootfs");

/** Options of {@link mountRootfs}. */
export interface MountRootfsOptions {
  /**
   * The image: an existing directory, anywhere readable; the overlay never writes to it. Several
   * directories separated by `:`, topmost first, stack as overlay's lower layers (an image's layers
   * from the image store, `src/image/`).
   */
  lowerDir: string;
  /** The container's own directory; must resolve inside `root`. */
  containerDir: string;
  /** The daemon's root. */
  root: string;
  signal?: AbortSignal;
}

/** Where a mounted rootfs lives (resolved paths). */
export interface Rootfs {
  mergedDir: string;
  upperDir: string;
  workDir: string;
}

/**
 * Creates `upper/`, `work/` and `merged/` under the container's directory and mounts the overlay
 * on `merged/`. Already mounted → nothing done.
 *
 * @example
 * const { mergedDir } = await mountRootfs({ lowerDir: "/images/alpine", containerDir, root });
 */
export async function mountRootfs(options: MountRootfsOptions): Promise<Rootfs> {
  const lowerDirs = await Promise.all(options.lowerDir.split(":").map(validateLowerDir));
  const lowerDir = lowerDirs.join(":");
  const inside = (name: string) => resolveInsideRoot(options.root, `${options.containerDir}/${name}`);
  const [mergedDir, upperDir, workDir] = await Promise.all([inside("merged"), inside("upper"), inside("work")]);
  const rootfs: Rootfs = { mergedDir, upperDir, workDir };
  for (const dir of [...lowerDirs, upperDir, workDir]) validateOverlayPath(dir);
  const [created] = await Promise.all([mergedDir, upperDir, workDir].map((dir) => mkdir(dir, { recursive: true, mode: 0o755 })));
  // Nothing can be mounted on a directory made just now; only an old one costs a read of the table.
  if (created === undefined && (await isMounted(mergedDir))) {
    log.debug("Rootfs is already mounted", { mergedDir: rootfs.mergedDir });
    return rootfs;
  }
  const data = `lowerdir=${lowerDir},upperdir=${rootfs.upperDir},workdir=${rootfs.workDir}`;
  await runHostCommand("mount", ["-t", "overlay", "-o", data, "overlay", rootfs.mergedDir], {
    action: `mount rootfs on ${rootfs.mergedDir}`,
    signal: options.signal,
  });
  log.debug("Mounted rootfs", { mergedDir: rootfs.mergedDir, lowerDir });
  return rootfs;
}

/**
 * Unmounts the overlay on `<containerDir>/merged`: refuses with `PathOutsideRootError` (touching
 * nothing) if it resolves outside the root, does nothing if it is not mounted, detaches it
 * otherwise. Leaves `upper/` and `work/` in place. Safe to call again.
 *
 * @example
 * await unmountRootfs(containerDir, { root }); // "unmounted", then "not-mounted"
 */
export async function unmountRootfs(containerDir: string, options: UnmountOptions): Promise<"unmounted" | "not-mounted"> {
  return await unmountPath(`${containerDir}/merged`, options);
}

async function validateLowerDir(lowerDir: string): Promise<string> {
  try {
    const resolved = await realpath(lowerDir);
    if ((await stat(resolved)).isDirectory()) return resolved;
  } catch (error) {
    throw invalidLowerDir(lowerDir, { cause: error });
  }
  throw invalidLowerDir(lowerDir);
}

function invalidLowerDir(lowerDir: string, options?: { cause?: unknown }): CodedError {
  return new CodedError("INVALID_ARGUMENT", `Cannot mount rootfs: lower directory "${lowerDir}" is not an existing directory`, {
    cause: options?.cause,
    details: { lowerDir },
  });
}

/** Overlay's mount data separates options with `,` and lower layers with `:`. */
function validateOverlayPath(dir: string): void {
  if (/[,:\\]/.test(dir)) {
    throw new CodedError("INVALID_ARGUMENT", `Cannot mount rootfs: "${dir}" contains one of , : \\`, { details: { path: dir } });
  }
}

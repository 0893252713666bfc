/**
 * A container's bind mounts on the process backend: each host path its config names, bound onto
 * its container path inside the container's root (the overlay's merged directory, under the
 * daemon's root) before the container starts. Only what the config names; the container path is
 * resolved inside the root (symlinks and `..` never lead out of it). The mounts go with the rootfs:
 * its lazy unmount (at remove, or the stop's storage step) detaches them too, and the leak check
 * counts a mount beneath a container's root as the container's. (The OCI backends put the same
 * mounts into the bundle instead: a bind beneath the overlay never reaches the container's own
 * mount namespace.)
 */
import { mkdir, open, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { CodedError } from "../errors/coded-error.ts";
import { resolveInRootfs } from "../runtime/rootfs-path.ts";
import { runHostCommand } from "./host-command.ts";

export interface BindMount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
}

/** Binds each mount into `rootfsDir`, in order; a host path that is missing or a mount that would hide the root is INVALID_ARGUMENT. */
export async function bindMounts(rootfsDir: string, mounts: BindMount[]): Promise<void> {
  for (const mount of mounts) {
    const target = await resolveInRootfs(rootfsDir, mount.containerPath);
    if (target === rootfsDir) throw new CodedError("INVALID_ARGUMENT", `Cannot create container: a mount on "${mount.containerPath}" would hide its root`);
    const source = await stat(mount.hostPath).catch(() => {
      throw new CodedError("INVALID_ARGUMENT", `Cannot create container: mount source "${mount.hostPath}" does not exist`);
    });
    if (source.isDirectory()) {
      await mkdir(target, { recursive: true });
    } else {
      await mkdir(dirname(target), { recursive: true });
      await (await open(target, "a")).close();
    }
    await runHostCommand("mount", ["--rbind", mount.hostPath, target], { action: `bind ${mount.hostPath} on ${target}` });
    await runHostCommand("mount", ["--make-rprivate", target], { action: `make ${target} private` });
    if (mount.readonly) await runHostCommand("mount", ["-o", "remount,bind,ro", target], { action: `make ${target} read-only` });
  }
}

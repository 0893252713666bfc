/**
 * A container's bind mounts (CRI `mounts`), checked: each host path the request names, to be bound
 * onto its container path by the backend (`src/host/bind-mounts.ts` on the process backend, the
 * bundle's mounts on the OCI backends) before the container starts. Only what the request names; each one checked first (the
 * host path exists and is absolute; the container path is absolute, resolved inside the root
 * — symlinks and `..` never lead out of it). What podvisor cannot do with a mount is refused.
 * The mounts go with the rootfs: unmounting it (at remove, or the stop's storage step) detaches
 * them too, and the leak check counts a mount beneath a container's root as the container's.
 */
import { stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import type { BindMount } from "../host/bind-mounts.ts";
import { CriError } from "./cri-errors.ts";
import type { Message } from "./cri-message.ts";

export type { BindMount } from "../host/bind-mounts.ts";

/** The request's mounts, checked, and what is not applied (a warning); throws INVALID_ARGUMENT / UNIMPLEMENTED for what cannot be done. */
export async function bindMountsFromCri(mounts: Message[] | undefined): Promise<{ mounts: BindMount[]; warnings: string[] }> {
  const result: BindMount[] = [];
  const warnings: string[] = [];
  for (const [index, mount] of (mounts ?? []).entries()) {
    const where = `Cannot create container: mounts[${index}]`;
    const containerPath = String(mount.container_path ?? "");
    const hostPath = String(mount.host_path ?? "");
    if (!isAbsolute(containerPath) || containerPath.includes("\0")) throw new CriError("INVALID_ARGUMENT", `${where}: container_path "${containerPath}" must be an absolute path`);
    if (!isAbsolute(hostPath) || hostPath.includes("\0")) throw new CriError("INVALID_ARGUMENT", `${where}: host_path "${hostPath}" must be an absolute path`);
    if (mount.image !== null && mount.image !== undefined && (mount.image.image ?? "") !== "") throw new CriError("UNIMPLEMENTED", `${where}: image volumes are not implemented yet`);
    if ((mount.propagation ?? "PROPAGATION_PRIVATE") !== "PROPAGATION_PRIVATE") throw new CriError("UNIMPLEMENTED", `${where}: propagation ${mount.propagation} is not implemented yet (only private)`);
    if ((mount.uidMappings ?? []).length > 0 || (mount.gidMappings ?? []).length > 0) throw new CriError("UNIMPLEMENTED", `${where}: id-mapped mounts are not implemented yet`);
    if (mount.recursive_read_only === true) throw new CriError("UNIMPLEMENTED", `${where}: recursive read-only mounts are not implemented yet`);
    if ((mount.mount_options ?? []).length > 0) throw new CriError("UNIMPLEMENTED", `${where}: mount_options are not implemented yet`);
    await stat(hostPath).catch(() => {
      throw new CriError("INVALID_ARGUMENT", `${where}: host_path "${hostPath}" does not exist`);
    });
    if (mount.selinux_relabel === true) warnings.push(`mounts[${index}].selinux_relabel: not applied (no SELinux labelling)`);
    result.push({ containerPath, hostPath, readonly: mount.readonly === true });
  }
  return { mounts: result, warnings };
}

import { join, posix } from "node:path";
import type { ContainerSpec } from "../src/runtime/runtime-backend.ts";
import type { ContainerRecord, SandboxRecord } from "../src/state/records.ts";

/**
 * What the runtime is given for a container, from its record and its sandbox's: the same at create
 * and at adoption after a restart. The overlay, when the container has a rootfs, is mounted on
 * `merged/` in the container's directory (see `src/host/rootfs.ts`).
 */
export function containerSpec(record: ContainerRecord, sandbox: SandboxRecord): ContainerSpec {
  return {
    id: record.id,
    command: record.command,
    env: record.env,
    cwd: record.cwd,
    logPath: record.logPath,
    cgroupPath: record.cgroupPath,
    netnsPath: sandbox.netnsPath,
    rootfsDir: record.rootfs === undefined ? undefined : join(record.dir, "merged"),
    stopSignal: record.stopSignal as NodeJS.Signals,
    hostname: sandbox.hostname,
    shmPath: sandbox.shmPath,
    infra: record.infra,
    init: record.init,
    mounts: mountsOf(record, sandbox),
    sysctls: sandbox.sysctls,
  };
}

/**
 * The container's bind mounts, with its pod's resolv.conf read-only on `/etc/resolv.conf` first when
 * it has a root of its own (a container without one sees the host's /etc): the client's own mount
 * of `/etc/resolv.conf` replaces it, one of `/etc` hides it.
 */
function mountsOf(record: ContainerRecord, sandbox: SandboxRecord): ContainerSpec["mounts"] {
  const mounts = record.mounts ?? [];
  if (sandbox.resolvConfPath === undefined || record.infra || record.rootfs === undefined) return record.mounts;
  if (mounts.some((mount) => posix.normalize(mount.containerPath).replace(/\/$/, "") === "/etc/resolv.conf")) return record.mounts;
  return [{ containerPath: "/etc/resolv.conf", hostPath: sandbox.resolvConfPath, readonly: true }, ...mounts];
}

import { join } from "node:path";
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
    mounts: record.mounts,
    sysctls: sandbox.sysctls,
  };
}

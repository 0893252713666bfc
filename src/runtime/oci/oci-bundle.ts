/**
 * An OCI bundle for one container: a `config.json` shaped like `runc spec`'s defaults (its mounts,
 * masked and read-only paths, capabilities, `noNewPrivileges`), with new pid, mount, ipc and uts
 * namespaces, the sandbox's network namespace joined by path, and the container's cgroup in cgroupfs
 * form (`/podvisor-x/pod-1/ctr-2`), so `cgroup.kill` and `cgroup.events` keep working on it.
 * No `oomScoreAdj`: these hosts cannot lower it (see DESIGN.md).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { CodedError } from "../../errors/coded-error.ts";
import type { ContainerSpec } from "../runtime-backend.ts";
import { pauseCommand } from "./oci-pause.ts";

/** Where catatonit is bind-mounted inside a container started with `init: true`. */
export const initPathInContainer = "/.podvisor/catatonit";

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const defaultCapabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

export interface OciBundleOptions {
  /** The host's catatonit, for `init: true` containers. */
  initPath: string;
  /** The root of infra containers without a rootfs: holds only `/catatonit` (see `oci-pause.ts`). */
  pauseRootfs: string;
}

/** The `config.json` of a container (a plain object, as `runc spec` writes it). */
export function ociConfig(spec: ContainerSpec, options: OciBundleOptions): Record<string, unknown> {
  const pause = spec.rootfsDir === undefined && spec.infra === true;
  if (spec.rootfsDir === undefined && !pause) {
    throw new CodedError("INVALID_ARGUMENT", `Cannot create container "${spec.id}": the OCI runtime backends need a rootfs (images are not supported yet)`, {
      details: { id: spec.id },
    });
  }
  if (spec.hostname !== undefined && spec.hostname.length > 64) {
    throw new CodedError("INVALID_ARGUMENT", `Cannot create container "${spec.id}": hostname "${spec.hostname}" is longer than 64 characters`, { details: { id: spec.id } });
  }
  const env = { PATH: defaultPath, ...spec.env };
  const args = pause ? pauseCommand : spec.init === true ? [initPathInContainer, "--", ...spec.command] : spec.command;
  const namespaces: Record<string, string>[] = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  // Without a netns path the container shares the host's network, as on the process backend.
  if (spec.netnsPath !== undefined) namespaces.push({ type: "network", path: spec.netnsPath });
  return {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
      cwd: spec.cwd ?? "/",
      capabilities: Object.fromEntries(["bounding", "effective", "permitted", "ambient"].map((set) => [set, defaultCapabilities])),
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: pause ? { path: options.pauseRootfs, readonly: true } : { path: spec.rootfsDir, readonly: false },
    hostname: spec.hostname ?? spec.id.slice(0, 63),
    mounts: mounts(spec, options),
    linux: {
      cgroupsPath: `/${spec.cgroupPath}`,
      ...(spec.sysctls === undefined || pause ? {} : { sysctl: spec.sysctls }),
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces,
      maskedPaths: [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

/**
 * Writes `<bundleDir>/config.json` (the folder is made if missing).
 *
 * @example
 * await writeOciBundle("/var/lib/podvisor/oci/c1/bundle", spec, { initPath: "/usr/bin/catatonit" });
 */
export async function writeOciBundle(bundleDir: string, spec: ContainerSpec, options: OciBundleOptions): Promise<void> {
  const config = ociConfig(spec, options);
  await mkdir(bundleDir, { recursive: true, mode: 0o700 });
  await writeFile(join(bundleDir, "config.json"), JSON.stringify(config));
}

function mounts(spec: ContainerSpec, options: OciBundleOptions): Record<string, unknown>[] {
  const shm = spec.shmPath === undefined
    ? { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] }
    : { destination: "/dev/shm", type: "bind", source: spec.shmPath, options: ["rbind", "nosuid", "noexec", "nodev"] };
  const list: Record<string, unknown>[] = [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    shm,
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
  ];
  if (spec.init === true) list.push({ destination: initPathInContainer, type: "bind", source: options.initPath, options: ["bind", "ro", "nosuid", "nodev"] });
  for (const mount of spec.mounts ?? []) {
    if (!isAbsolute(mount.containerPath) || !isAbsolute(mount.hostPath)) {
      throw new CodedError("INVALID_ARGUMENT", `Cannot create container "${spec.id}": mount ${mount.hostPath} on ${mount.containerPath} needs absolute paths`, { details: { id: spec.id } });
    }
    list.push({ destination: mount.containerPath, type: "bind", source: mount.hostPath, options: ["rbind", "rprivate", mount.readonly ? "ro" : "rw"] });
  }
  return list;
}

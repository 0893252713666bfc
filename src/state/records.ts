/** What podvisor keeps on disk for each sandbox and container: one JSON record each. */

export type SandboxState = "ready" | "stopped";
export type ContainerState = "created" | "running" | "exited";
/** Why a container ended: by itself, by a signal it was sent, or killed when its deadline passed. */
export type ExitReason = "exited" | "signalled" | "killed-at-deadline";

/** The phases of a stop, in order; the journal keeps the last one reached. */
export const stopPhases = [
  "requested",
  "containers-stopped",
  "storage-unmounted",
  "network-down",
  "netns-removed",
  "shm-unmounted",
  "stopped",
] as const;
export type StopPhase = (typeof stopPhases)[number];

/** A pod's DNS config (CRI `DNSConfig`), as src/api/dns-config-schema.ts checks it. */
export interface DnsConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface SandboxConfig {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  hostNetwork?: boolean;
  hostIpc?: boolean;
  /** What a Kubernetes client names the pod by (CRI `PodSandboxMetadata`), kept and returned as given. */
  uid?: string;
  namespace?: string;
  attempt?: number;
  hostname?: string;
  /** Where the client wants its containers' CRI logs: their `logPath` is relative to it. */
  logDirectory?: string;
  /** The client's cgroup parent (CRI `linux.cgroup_parent`): kept and returned; podvisor's own cgroup is `cgroupPath`. */
  cgroupParent?: string;
  /** Namespaced sysctls for every container of the pod (CRI `linux.sysctls`): applied by the OCI backends, in each container's namespaces. */
  sysctls?: Record<string, string>;
  /** The pod's resolv.conf (CRI `dns_config`): servers, search domains, options; without it, the host's (src/host/resolv-conf.ts). */
  dnsConfig?: DnsConfig;
  /** What was asked and is not honoured (a security option the backend does not have): said, never silently dropped. */
  warnings?: string[];
}

export interface SandboxRecord extends Pick<SandboxConfig, "uid" | "namespace" | "attempt" | "hostname" | "logDirectory" | "cgroupParent" | "sysctls" | "dnsConfig" | "warnings"> {
  id: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  hostNetwork: boolean;
  hostIpc: boolean;
  state: SandboxState;
  createdAt: number;
  /** The sandbox's own directory under the root. */
  dir: string;
  netnsName?: string;
  netnsPath?: string;
  shmPath?: string;
  /** Its resolv.conf in its folder, bound on /etc/resolv.conf into its containers that have a root of their own. */
  resolvConfPath?: string;
  /** Relative to the cgroup2 mount, or the process-group fallback's name. */
  cgroupPath: string;
  infraContainerId?: string;
  /** Its CNI network, when it has one (not host network, and a network was configured at its run). */
  network?: SandboxNetwork;
  /**
   * The stop journal: the phase reached and the absolute deadline it runs under; once stopped, the
   * host steps that were skipped, and why (SEMANTICS.md row 12: recorded, never faked).
   */
  stop?: { phase: StopPhase; deadlineAt: number; requestedAt: number; skipped?: Record<string, string> };
  stoppedAt?: number;
}

/**
 * A sandbox's CNI attachment: the exact configuration list its ADD used and the ADD's final result,
 * so that its DEL is exact whatever the conf dir holds by then (src/network/pod-network.ts).
 */
export interface SandboxNetwork {
  /** The network's name (host-local keeps its addresses under it). */
  name: string;
  /** The conf file it was read from. */
  source: string;
  /** CNI_CONTAINERID (the netns name) and CNI_IFNAME it was added with. */
  containerId: string;
  ifName: string;
  /** The configuration list, as it was used. */
  config: Record<string, unknown>;
  /** The last plugin's result, the `prevResult` of the DEL. */
  result: Record<string, unknown>;
  /** The pod's addresses (without prefix length), the first IPv4 one as `ip`. */
  ip?: string;
  ips: string[];
}

export interface ContainerConfig {
  name: string;
  /** Required without an image; with one, it replaces the image's entrypoint (CRI's rule). */
  command?: string[];
  /** With an image: replaces its cmd (CRI's rule); without, appended to `command`. */
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  stopSignal?: string;
  rootfs?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** CRI `ContainerMetadata.attempt`. */
  attempt?: number;
  /** The image the client named, kept and returned as given. */
  image?: string;
  /** The container's CRI log (`<RFC3339Nano> <stream> <F|P> <line>`), absolute: the sandbox's logDirectory joined with the CRI `log_path`. */
  criLogPath?: string;
  /** Limits written into its cgroup at create (CRI `linux.resources`). */
  resources?: ContainerResources;
  /** Host paths bound into its root before it starts (CRI `mounts`; `src/cri/bind-mounts.ts`). */
  mounts?: { containerPath: string; hostPath: string; readonly: boolean }[];
  /** What was asked and is not honoured (a security option the backend does not have): said, never silently dropped. */
  warnings?: string[];
  /** Run it under catatonit as PID 1 (`podman --init`), on the OCI backends; the process backend needs none. */
  init?: boolean;
}

/** A container's cgroup limits: `cpu.max` is "quota period", `memory.max` bytes. */
export interface ContainerResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
}

export interface ContainerRecord extends Pick<ContainerConfig, "labels" | "annotations" | "attempt" | "image" | "criLogPath" | "resources" | "mounts" | "warnings" | "init"> {
  id: string;
  sandboxId: string;
  name: string;
  /** The sandbox's infra (pause) container, which holds its namespaces; stopped last. */
  infra: boolean;
  command: string[];
  env: Record<string, string>;
  cwd?: string;
  stopSignal: string;
  /** The client's rootfs directory (the overlay's read-only lower layer). */
  rootfs?: string;
  dir: string;
  logPath: string;
  cgroupPath: string;
  state: ContainerState;
  pid?: number;
  exitCode?: number;
  signal?: string;
  reason?: ExitReason;
  /**
   * The exit status could not be collected: the container was adopted after a restart and its main
   * process was not this daemon's child. `exitCode` and `signal` are then absent, and `message` says why.
   */
  exitCodeUnknown?: boolean;
  /** How it ended, in words, when that is not plain (adopted after a restart, stopped by the supervisor). */
  message?: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
}

/**
 * The shapes of the API's params and results that clients read (docs/API.md has them all). The
 * daemon's status views and the CLI both use these, so the two cannot drift apart.
 */
import type { ContainerRecord, SandboxRecord } from "../state/records.ts";

export type { ContainerConfig, SandboxConfig } from "../state/records.ts";

/** `PodSandboxStatus`'s `status`, and each item of `ListPodSandbox`. */
export type PodSandboxStatus = Omit<SandboxRecord, "dir" | "netnsName" | "network"> & { network?: PodNetworkStatus };

/** A sandbox's CNI network as status shows it (CRI's PodSandboxNetworkStatus, and the interface's name). */
export interface PodNetworkStatus {
  ip?: string;
  ips: string[];
  interface: string;
}

/** `ContainerStatus`'s `status`, and each item of `ListContainers` (`infra` marks the pause container). */
export type ContainerStatus = Omit<ContainerRecord, "sandboxId" | "dir"> & { podSandboxId: string };

/** One sandbox's outcome in `StopPodSandboxes`. */
export interface SandboxStopResult {
  podSandboxId: string;
  ok: boolean;
  error?: { code: string; message: string; details?: unknown };
  durationMs: number;
  phases: Record<string, number>;
  /** Host steps skipped, and why (network "none", SELinux off …). */
  skipped?: Record<string, string>;
  warnings?: string[];
}

/**
 * The kinds of host objects `CheckHost` compares with the records. `conmon`, `runtimeStates` and
 * `bundles` are the OCI backends' (always empty on the process backend).
 */
export type HostObjectKind = "mounts" | "netns" | "cgroups" | "processes" | "addresses" | "veths" | "conmon" | "runtimeStates" | "bundles";

/** Something on the host that no record owns. */
export interface HostLeak {
  /** A mount point, a netns name, a cgroup path (relative to the cgroup2 mount), a pid, a CNI address (`<network>/<ip>`) or a veth. */
  name: string;
  /** Why it is a leak, in words. */
  reason: string;
  /** For a process: the cgroup it runs in. */
  cgroup?: string;
  /** Why a repair leaves it in place (it is still reported and counted). */
  notRepaired?: string;
}

/** One kind of host object in `CheckHost`'s result: the records' view against the host's. */
export interface HostKindReport {
  /** What the records own and the host has (for processes: the pids in running containers' cgroups). */
  owned: string[];
  /** Everything found on the host under this daemon's names. */
  onHost: string[];
  /** On the host, owned by no record. */
  leaks: HostLeak[];
  /** On the host, named after a sandbox or container whose run, create or start was in flight: not judged. */
  inFlight: string[];
  /** Owned by a ready sandbox's record, absent from the host: informational, never repaired. */
  missing: string[];
  /** Leaks the repair removed (or found gone). */
  removed: string[];
  /** Leaks the repair could not remove, each with its error. */
  failed: { name: string; code: string; message: string }[];
  /** Set when this kind could not be read (e.g. no cgroup v2); the other kinds are still checked. */
  error?: { code: string; message: string };
}

/** The result of `CheckHost`. */
export interface HostCheckReport {
  root: string;
  tag: string;
  repair: boolean;
  checkedAt: number;
  durationMs: number;
  kinds: Record<HostObjectKind, HostKindReport>;
  /** Totals over the kinds. */
  leaks: number;
  removed: number;
  failed: number;
}

/**
 * A change to what status and list report, as the supervisor sends it to the API thread's copy
 * (see `status-replica.ts`): a sandbox's or container's new status, or its removal.
 */
export type StatusChange =
  | { kind: "sandbox"; status: PodSandboxStatus }
  | { kind: "container"; status: ContainerStatus }
  | { kind: "sandbox-removed"; id: string }
  | { kind: "container-removed"; id: string };

/** An image, as `ListImages` and `ImageStatus` show it (CRI's `Image`): `id` is the config's digest. */
export interface ImageView {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** Bytes of its blobs (compressed layers and config). */
  size: number;
  /** The config's User, when it is a number. */
  uid?: number;
  /** The config's User, when it is a name. */
  username?: string;
}

/** One item of `ImageFsInfo` (CRI's `FilesystemUsage`): the image store's usage; `timestamp` in nanoseconds. */
export interface ImageFilesystemUsage {
  fsId?: { mountpoint: string };
  usedBytes: number;
  inodesUsed: number;
  timestamp: number;
}

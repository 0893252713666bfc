/**
 * The container runtime: how a container's processes are run, signalled, watched and reaped.
 * One interface, several backends:
 *
 * - `ProcessBackend` (default): the command runs as a host process in its own cgroup v2.
 * - `LaggingBackend`: wraps another and reports "stopped" late, like VM-based runtimes (Kata).
 *
 * Room is left for what comes later, without building it now:
 * - an OCI runtime backend (runc, crun) that turns a {@link ContainerSpec} into a bundle and drives
 *   `runc create/start/kill/state/delete`; the methods below map one to one onto those verbs;
 * - CNI networking, which is not the runtime's job: the sandbox sets up its network namespace
 *   (and later calls CNI plugins on it) and hands the runtime only `netnsPath`.
 */
import type { ErrorData } from "../errors/coded-error.ts";

/** What to run. Paths are absolute and already checked to lie inside the daemon's root by the caller. */
export interface ContainerSpec {
  /** Unique within the backend. */
  id: string;
  /** argv; never interpreted by a shell. */
  command: string[];
  /** The whole environment of the command (the daemon's own is not passed on), plus a default PATH. */
  env?: Record<string, string>;
  /** Working directory; inside `rootfsDir` when one is given. */
  cwd?: string;
  /** stdout and stderr are appended here. */
  logPath: string;
  /** The container's cgroup, relative to the cgroup2 mount (`podvisor-x/pod-1/ctr-2`). */
  cgroupPath: string;
  /** A network namespace to join (`/run/netns/<name>`); the host's network when absent. */
  netnsPath?: string;
  /** An already-mounted root file system (overlay merged dir) to run the command chrooted into. */
  rootfsDir?: string;
  /** The signal {@link RuntimeBackend.signal} sends when none is named; default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** The container's hostname (the sandbox's); used by backends with a uts namespace. */
  hostname?: string;
  /** The sandbox's shm (a tmpfs mounted by podvisor), bound on `/dev/shm` by backends with a mount namespace. */
  shmPath?: string;
  /** Run the command under a small init (catatonit) as PID 1, as `podman --init` does (OCI backends). */
  init?: boolean;
  /**
   * The sandbox's infra (pause) container. OCI backends run one without a rootfs as `catatonit -P`
   * in a tiny read-only root of their own, as podman's pause image does.
   */
  infra?: boolean;
  /**
   * Host paths bound into the container (CRI `mounts`), by the OCI backends from their bundle. The
   * process backend does not read them: its caller binds them beneath `rootfsDir` on the host first.
   */
  mounts?: { containerPath: string; hostPath: string; readonly: boolean }[];
  /** Namespaced sysctls set in the container's namespaces (its pod's, CRI `linux.sysctls`), by the OCI backends. */
  sysctls?: Record<string, string>;
}

export type RuntimeStatus = "created" | "running" | "stopped";

/** What the backend reports. Exit details are present only once it reports "stopped". */
export interface RuntimeState {
  status: RuntimeStatus;
  /** The main process, once started. */
  pid?: number;
  startedAt?: number;
  /** Set when the main process exited by itself. */
  exitCode?: number;
  /** Set when the main process was ended by a signal (`"SIGTERM"`, `"SIGKILL"` …). */
  signal?: NodeJS.Signals;
  /** When the main process exited, epoch ms. */
  finishedAt?: number;
  /**
   * Set when the exit status cannot be known: the container was adopted after a restart, and the
   * process holder that reaped it left no exit file (it was killed too; see `process-adopted.ts`).
   */
  exitCodeUnknown?: boolean;
}

export interface StartResult {
  pid: number;
  /** Epoch ms. */
  startedAt: number;
}

export interface WaitForStoppedOptions {
  /** Gives up waiting: rejects with a `DEADLINE_EXCEEDED` error for a timeout, else the signal's reason. */
  signal?: AbortSignal;
}

export interface ExecOptions {
  /** Kills the command when it passes (0 or absent: no limit but `signal`). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What an exec came to; a command that timed out has `timedOut` and whatever it printed by then. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  timedOut: boolean;
}

/** Why an adopted container's exit status is unknown: said in its record and its status. */
export const unknownExitMessage =
  "its main process was started by an earlier daemon process, and the process holder that kept its exit status was gone too";

/** The kinds of leftovers a backend lists for the leak check (the API's `HostObjectKind`s of the OCI backends). */
export type BackendLeftoverKind = "conmon" | "runtimeStates" | "bundles";

/** One thing a backend keeps on the host for a container (see {@link RuntimeBackend.findLeftovers}). */
export interface BackendLeftover {
  kind: BackendLeftoverKind;
  /** How the leak check names it: a pid (conmon), a path (a state folder, a bundle, an exit file). */
  name: string;
  /** The container it belongs to. */
  containerId: string;
  /** The container's cgroup (relative to the cgroup2 mount), where the backend keeps it (the bundle). */
  cgroupPath?: string;
  /** In words, for the report: what it is (`conmon of container x`). */
  what: string;
}

export interface BackendLeftoverListing {
  items: BackendLeftover[];
  /** A kind that could not be read; the others are still listed. */
  errors: Partial<Record<BackendLeftoverKind, ErrorData>>;
}

/** What became of one item of a removal: `error` unset means removed (or gone already). */
export interface BackendRemoval {
  item: BackendLeftover;
  error?: unknown;
}

/** What is known of a container started by an earlier daemon process, for {@link RuntimeBackend.adopt}. */
export interface AdoptionRecord {
  pid: number;
  startedAt: number;
}

/**
 * One container runtime. Every call that names an unknown id rejects with code `NOT_FOUND`, except
 * {@link RuntimeBackend.delete}, for which an unknown id is success.
 *
 * Subprocesses are spawned, signalled and reaped on the main thread only: container actors on worker
 * threads decide, and ask the main thread to act.
 */
export interface RuntimeBackend {
  /** A name for logs and metrics (`"process"`, `"lagging(process)"`). */
  readonly name: string;
  /** Prepares a container (its cgroup, its log's folder); nothing runs yet. */
  create(spec: ContainerSpec): Promise<void>;
  /** Runs the command. Rejects when the command cannot be spawned at all. */
  start(id: string): Promise<StartResult>;
  /**
   * Sends a signal to the container's main process only (default: the spec's stop signal).
   * A process that has already exited is success.
   */
  signal(id: string, signal?: NodeJS.Signals): Promise<void>;
  /** SIGKILL to every process of the container, forked children included. Gone already is success. */
  killAll(id: string): Promise<void>;
  /** The backend's report. "stopped" means every process is gone and the exit status is known. */
  state(id: string): Promise<RuntimeState>;
  /**
   * Resolves with the stopped state once the backend reports the container stopped: every process
   * gone AND the main process's exit status collected. The exit of the main process alone is not
   * enough — but a backend kills what the main process leaves behind as soon as it exits (the
   * main-exit rule: a pid namespace does it for OCI containers, the process holder for the process
   * backend), so "stopped" follows the main process's exit within moments. Rejects for a container
   * that was never started.
   */
  waitForStopped(id: string, options?: WaitForStoppedOptions): Promise<RuntimeState>;
  /** The pids of every process of the container (for the leak check and the pid inventory). */
  pids(id: string): Promise<number[]>;
  /** Forgets a created or stopped container and removes its cgroup. Unknown id is success. */
  delete(id: string): Promise<void>;
  /**
   * Re-attaches to a container that an earlier daemon process started (after a restart), found
   * through its cgroup — never by its pid alone, which may have been reused. Resolves with its state:
   * "running" while any of its processes lives, else "stopped" with `exitCodeUnknown` (the status
   * went to the earlier daemon, its parent). From then on every other call works on it as on a
   * container this backend started. The process backend adopts; the lagging one delegates.
   */
  adopt(spec: ContainerSpec, record: AdoptionRecord): Promise<RuntimeState>;
  /**
   * Runs a command inside a running container (its namespaces, root and cgroup) and collects its
   * output and exit code (CRI `ExecSync`). A backend without it cannot exec: the caller says so.
   */
  exec?(id: string, command: string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * The cgroups this backend keeps beside a container's for its own helpers (the OCI backends'
   * conmon), relative to the cgroup2 mount: the leak check counts them as the container's.
   */
  helperCgroups?(cgroupPath: string): string[];
  /**
   * Whether a created container already has processes before its start (the OCI runtimes' init
   * waiting for `start`, and conmon): the leak check then counts them as the created container's.
   */
  readonly runsBeforeStart?: boolean;
  /**
   * What this backend keeps on the host per container beyond the supervisor's names (the OCI
   * backends: conmon processes, the runtime's state folders, bundles), each with the container id
   * it belongs to, for the leak check to judge against the records. Reading only. See `leftovers.ts`.
   */
  findLeftovers?(options?: { signal?: AbortSignal }): Promise<BackendLeftoverListing>;
  /**
   * Removes leftovers {@link RuntimeBackend.findLeftovers} listed, all of one container that no
   * record owns: kills its conmon (the very process listed), has the runtime delete its container,
   * removes its folders. Each item's outcome is reported; nothing else is touched.
   */
  removeLeftovers?(items: BackendLeftover[], options?: { signal?: AbortSignal }): Promise<BackendRemoval[]>;
  /**
   * Releases what the backend keeps for itself (the process backend's holder process). Containers
   * still running go on running; a later call starts what is needed again.
   */
  close(): void;
}

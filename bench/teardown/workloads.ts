/** The workloads of the teardown benchmark: what each container runs, and how it meets SIGTERM. */
export const workloads = {
  /** Exits on SIGTERM. */
  graceful: ["sleep", "100000"],
  /** Ignores SIGTERM: needs the kill at the deadline. */
  "ignore-term": ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"],
  /** Exits 0–500 ms after SIGTERM (spread by pid). */
  "slow-exit": ["sh", "-c", "trap 'kill $! 2>/dev/null; sleep $(printf 0.%03d $(( ($$ * 7919) % 500 ))); exit 0' TERM; while :; do sleep 1 & wait $!; done"],
  /** A shell with background children that it does not pass SIGTERM on to. */
  forking: ["sh", "-c", "sleep 100000 & sleep 100000 & wait"],
  /** Exits on SIGTERM, but the runtime reports it stopped late (the daemon runs `--backend lagging`). */
  lagging: ["sleep", "100000"],
} as const;

export type Workload = keyof typeof workloads;

export function isWorkload(name: string): name is Workload {
  return name in workloads;
}

/**
 * The workloads that meet SIGTERM with the default action (no handler of their own). As PID 1 of a
 * container's pid namespace (the OCI backends) a process ignores such a signal — a bare `sleep`
 * survives SIGTERM — so there they run under an init (`init: true`: catatonit), as `podman --init`
 * does, to mean what they mean on the process backend.
 */
export const needsInitAsPid1: ReadonlySet<Workload> = new Set(["graceful", "forking"]);

/** The daemon's container backends the benchmark can run on. */
export const backends = ["process", "runc", "crun"] as const;

export type Backend = (typeof backends)[number];

export function isBackend(name: string): name is Backend {
  return (backends as readonly string[]).includes(name);
}

/** Whether containers on this backend run in a pid namespace of their own, from a rootfs (OCI runtimes). */
export function isOciBackend(backend: Backend): boolean {
  return backend === "runc" || backend === "crun";
}

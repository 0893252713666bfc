import { join } from "node:path";
import type { ContainerState, SandboxState } from "../src/state/records.ts";
import type { SupervisorContext } from "./context.ts";

/**
 * What the records say should be on the host, by name, each with the sandbox that owns it. Only a
 * ready sandbox owns host objects: a stop marks its sandbox stopped after every host step is done,
 * so whatever of a stopped sandbox is still there is left over.
 */
export interface Ownership {
  mounts: Map<string, string>;
  netns: Map<string, string>;
  cgroups: Map<string, string>;
  /** Every container's cgroup, whatever its sandbox's state: who may run processes where. */
  containers: Map<string, { id: string; state: ContainerState }>;
  /** Every sandbox's state, for the reason a leak is given. */
  sandboxes: Map<string, SandboxState>;
  /** Every container record's id, whatever its state: what the backend keeps for them is theirs (leak-backend.ts). */
  containerIds: Set<string>;
  /**
   * Every sandbox's and container's cgroup, whatever its state: runc's copies of them in the v1
   * hierarchies stay after a stop, until the removal (runc's delete) takes them.
   */
  recordedCgroups: Set<string>;
}

/**
 * Reads the records once, synchronously: the snapshot the host is compared with. Taken in the same
 * turn of the event loop as the in-flight window starts (see leak-check.ts for why that matters).
 *
 * @example
 * const owned = ownedByRecords(context); // owned.netns.get("pv-5b96b3af-abc") === "abc"
 */
export function ownedByRecords(context: SupervisorContext): Ownership {
  const owned: Ownership = { mounts: new Map(), netns: new Map(), cgroups: new Map(), containers: new Map(), sandboxes: new Map(), containerIds: new Set(context.store.containers.keys()), recordedCgroups: new Set() };
  for (const sandbox of context.store.sandboxes.values()) {
    owned.sandboxes.set(sandbox.id, sandbox.state);
    const ready = sandbox.state === "ready";
    if (ready && sandbox.netnsName !== undefined) owned.netns.set(sandbox.netnsName, sandbox.id);
    if (ready && sandbox.shmPath !== undefined) owned.mounts.set(sandbox.shmPath, sandbox.id);
    if (ready) owned.cgroups.set(sandbox.cgroupPath, sandbox.id);
    owned.recordedCgroups.add(sandbox.cgroupPath);
    for (const container of context.store.containersOf(sandbox.id)) {
      const helpers = context.backend.helperCgroups?.(container.cgroupPath) ?? []; // conmon's, on the OCI backends
      for (const path of [container.cgroupPath, ...helpers]) owned.containers.set(path, { id: container.id, state: container.state });
      owned.recordedCgroups.add(container.cgroupPath);
      if (!ready) continue;
      for (const path of [container.cgroupPath, ...helpers]) owned.cgroups.set(path, sandbox.id);
      if (container.rootfs !== undefined) owned.mounts.set(join(container.dir, "merged"), sandbox.id);
    }
  }
  return owned;
}

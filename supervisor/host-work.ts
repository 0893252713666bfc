import { removeCgroup } from "../src/host/cgroup-remove.ts";
import { HostBatcher, Limiter } from "../src/host/host-batcher.ts";
import { removeNetnsBatch } from "../src/host/netns-remove.ts";
import { unmountMany } from "../src/host/unmount.ts";

/**
 * The daemon's host work, one queue per kind, each with its own limit: unmounts and netns removals
 * are batched into one process per batch; cgroup removals are direct system calls, a few at once.
 * A slow kind never holds up another, and none of them holds up signals or acknowledgements
 * (those never touch these queues).
 */
export interface HostWork {
  unmount: HostBatcher<string, "unmounted" | "not-mounted">;
  netnsRemoval: HostBatcher<string, "removed" | "absent">;
  cgroupRemoval: Limiter;
  /** `knownChildren`: the cgroups known to lie directly below it, removed without listing (see there). */
  removeCgroup(path: string, knownChildren?: string[]): Promise<void>;
}

export function createHostWork(root: string): HostWork {
  const cgroupRemoval = new Limiter(32);
  return {
    unmount: new HostBatcher(async (paths) => {
      const result = await unmountMany(paths, { root });
      const outcomes = new Map<string, "unmounted" | "not-mounted" | Error>();
      for (const path of result.unmounted) outcomes.set(path, "unmounted");
      for (const path of result.notMounted) outcomes.set(path, "not-mounted");
      for (const { path, error } of [...result.refused, ...result.failed]) outcomes.set(path, error);
      // Paths given unresolved come back resolved; anything not named otherwise was not mounted.
      for (const path of paths) if (!outcomes.has(path)) outcomes.set(path, "not-mounted");
      return outcomes;
    }, { concurrency: 2 }),
    netnsRemoval: new HostBatcher(async (names) => {
      const result = await removeNetnsBatch(names);
      const outcomes = new Map<string, "removed" | "absent" | Error>();
      for (const name of result.removed) outcomes.set(name, "removed");
      for (const name of result.absent) outcomes.set(name, "absent");
      for (const { name, error } of result.failed) outcomes.set(name, error);
      return outcomes;
    }, { concurrency: 1 }),
    cgroupRemoval,
    removeCgroup: (path, knownChildren) => cgroupRemoval.run(() => removeCgroup(path, { knownChildren })),
  };
}

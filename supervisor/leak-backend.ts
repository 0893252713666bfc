/**
 * The leak check's runtime-backend part: what the backend keeps per container beyond the
 * supervisor's own names — on the OCI backends conmon processes, the runtime's state folders and
 * the bundles (`RuntimeBackend.findLeftovers`, `src/runtime/oci/oci-leftovers.ts`) — against the
 * records. A leftover is owned while a record names its container, whatever the container's or its
 * sandbox's state (RemoveContainer removes them, not a stop); it is in flight while its container or
 * sandbox is; else it is a leak. The repair hands each leaked container's leftovers to the backend
 * at once (its conmon, then the runtime's delete, then its folders). The same guards as the rest of
 * the check (leak-check.ts): the records are read in the same turn as the in-flight window starts,
 * anything named after an id in flight is left alone, and the periodic check removes only what the
 * previous one found too. A backend without `findLeftovers` (the process backend) has none.
 */
import type { HostKindReport, HostLeak } from "../src/api/api-types.ts";
import { toErrorData } from "../src/errors/coded-error.ts";
import { Limiter } from "../src/host/host-batcher.ts";
import type { BackendLeftover, BackendLeftoverKind, BackendLeftoverListing } from "../src/runtime/runtime-backend.ts";
import type { SupervisorContext } from "./context.ts";
import { cgroupIds } from "./leak-find.ts";

export const backendLeftoverKinds: BackendLeftoverKind[] = ["conmon", "runtimeStates", "bundles"];

/** Containers whose leftovers are removed at once (each removal forks the runtime and waits for a conmon). */
const removalConcurrency = 8;

export interface BackendCheckOptions {
  /** Ids in flight during the check (the window): their leftovers are not judged. */
  busy: ReadonlySet<string>;
  repair: boolean;
  /** With `repair`: only what this holds (`<kind>:<name>`, the previous check's leaks) is repaired. */
  onlyRepeated?: ReadonlySet<string>;
  signal?: AbortSignal;
}

/** Lists the backend's leftovers (none for a backend that keeps nothing of its own); rejects only if it cannot list at all. */
export async function listBackendLeftovers(context: SupervisorContext, signal?: AbortSignal): Promise<BackendLeftoverListing> {
  return (await context.backend.findLeftovers?.({ signal })) ?? { items: [], errors: {} };
}

/**
 * Judges the listing against the container ids the records held at the snapshot and, with
 * `repair`, removes the leaks. Each kind's report as the rest of the check makes them.
 */
export async function checkBackendLeftovers(context: SupervisorContext, listing: BackendLeftoverListing, ownedContainers: ReadonlySet<string>, options: BackendCheckOptions): Promise<Record<BackendLeftoverKind, HostKindReport>> {
  const kinds = { conmon: emptyKind(), runtimeStates: emptyKind(), bundles: emptyKind() };
  for (const kind of backendLeftoverKinds) if (listing.errors[kind] !== undefined) kinds[kind].error = listing.errors[kind];
  const top = `podvisor-${context.tag}`;
  const leaked = new Map<string, BackendLeftover[]>(); // by container id
  for (const item of listing.items) {
    const report = kinds[item.kind];
    report.onHost.push(item.name);
    // A cgroup the bundle names outside the daemon's own is not believed: nothing is done there.
    const cgroupPath = isUnder(item.cgroupPath, top) ? item.cgroupPath : undefined;
    const ids = [item.containerId, ...(cgroupPath === undefined ? [] : cgroupIds(cgroupPath))];
    if (ownedContainers.has(item.containerId)) report.owned.push(item.name);
    else if (ids.some((id) => options.busy.has(id))) report.inFlight.push(item.name);
    else {
      report.leaks.push({ name: item.name, reason: `${item.what}: no record owns container ${item.containerId}` });
      const items = leaked.get(item.containerId) ?? [];
      items.push({ ...item, cgroupPath });
      leaked.set(item.containerId, items);
    }
  }
  if (options.repair) await repair(context, kinds, leaked, options);
  return kinds;
}

async function repair(context: SupervisorContext, kinds: Record<BackendLeftoverKind, HostKindReport>, leaked: Map<string, BackendLeftover[]>, options: BackendCheckOptions): Promise<void> {
  const leakOf = (item: BackendLeftover): HostLeak | undefined => kinds[item.kind].leaks.find((leak) => leak.name === item.name);
  const hold = (items: BackendLeftover[], why: string) => {
    for (const item of items) {
      const leak = leakOf(item);
      if (leak !== undefined) leak.notRepaired ??= why;
    }
  };
  const remove = context.backend.removeLeftovers?.bind(context.backend);
  const limiter = new Limiter(removalConcurrency);
  await Promise.all([...leaked].map(([containerId, items]) => limiter.run(async () => {
    if (options.onlyRepeated !== undefined && items.some((item) => !options.onlyRepeated?.has(`${item.kind}:${item.name}`))) {
      return hold(items, "first seen by this check (it or another leftover of its container): the next check removes it if it is still there");
    }
    const ids = [containerId, ...(items.flatMap((item) => (item.cgroupPath === undefined ? [] : cgroupIds(item.cgroupPath))))];
    if (ids.some((id) => options.busy.has(id))) return hold(items, "an operation on its sandbox or container began while the check ran");
    if (remove === undefined) return hold(items, `the ${context.backend.name} backend cannot remove what it listed`);
    try {
      options.signal?.throwIfAborted();
      for (const { item, error } of await remove(items, { signal: options.signal })) {
        if (error === undefined) kinds[item.kind].removed.push(item.name);
        else kinds[item.kind].failed.push({ name: item.name, ...toErrorData(error) });
      }
    } catch (error) {
      for (const item of items) kinds[item.kind].failed.push({ name: item.name, ...toErrorData(error) });
    }
  })));
}

/** Whether `path` is a cgroup strictly below `top`, with plain segments only (no `..`). */
function isUnder(path: string | undefined, top: string): path is string {
  if (path === undefined || !path.startsWith(`${top}/`)) return false;
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

function emptyKind(): HostKindReport {
  return { owned: [], onHost: [], leaks: [], inFlight: [], missing: [], removed: [], failed: [] };
}

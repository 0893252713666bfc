import { dirname, join, relative } from "node:path";
import type { HostKindReport, HostLeak, HostObjectKind } from "../src/api/api-types.ts";
import type { CgroupProcess, HostInventory } from "../src/host/host-inventory.ts";
import type { Ownership } from "./leak-ownership.ts";

/** What a repair is to do, kind by kind, in the order it does it. */
export interface RepairPlan {
  mounts: string[];
  netns: string[];
  /** Cgroups to kill (`cgroup.kill`), each with the pids of leaked processes it ends. */
  killCgroups: Map<string, string[]>;
  /** Processes directly in a cgroup that is not theirs to kill whole (the daemon's, a sandbox's). */
  killPids: CgroupProcess[];
  /** Leaked cgroups whose whole subtree is leaked, parents before children. */
  cgroups: string[];
}

export interface FindLeaksInput {
  root: string;
  tag: string;
  owned: Ownership;
  host: HostInventory;
  /** Ids whose run, create or start was in flight during the check: their objects are not judged. */
  busy: ReadonlySet<string>;
  /** Whether a ready sandbox is still expected to have its objects (not stopping, not stopped). */
  expected(sandboxId: string): boolean;
  /** The backend runs processes for a created container before its start (the OCI runtimes' init and conmon). */
  runsBeforeStart?: boolean;
}

/**
 * Compares the records with the host: for each kind what is owned, what is on the host, the leaks,
 * the objects of operations in flight, and what records own that the host has not. Pure: reads
 * nothing and changes nothing.
 */
export function findLeaks(input: FindLeaksInput): { kinds: Record<HostObjectKind, HostKindReport>; plan: RepairPlan } {
  const { owned, host, busy } = input;
  // The CNI kinds (addresses, veths) are judged by leak-network.ts, the backend's own by leak-backend.ts; empty here.
  const kinds = {
    mounts: emptyKind(), netns: emptyKind(), cgroups: emptyKind(), processes: emptyKind(), addresses: emptyKind(), veths: emptyKind(),
    conmon: emptyKind(), runtimeStates: emptyKind(), bundles: emptyKind(),
  };
  const plan: RepairPlan = { mounts: [], netns: [], killCgroups: new Map(), killPids: [], cgroups: [] };
  for (const kind of ["mounts", "netns", "cgroups", "processes"] as const) {
    if (host.errors[kind] !== undefined) kinds[kind].error = host.errors[kind];
  }
  const reason = (ids: string[]) => owned.sandboxes.get(ids[0] ?? "") === "stopped" ? `its pod sandbox ${ids[0]} is stopped` : "no record owns it";
  const judge = (kind: HostObjectKind, name: string, isOwned: boolean, ids: string[]): boolean => {
    kinds[kind].onHost.push(name);
    if (isOwned) kinds[kind].owned.push(name);
    else if (ids.some((id) => busy.has(id))) kinds[kind].inFlight.push(name);
    else return true;
    return false;
  };

  const sandboxesDir = join(input.root, "sandboxes");
  const onHostMounts = new Set(host.mounts);
  for (const point of host.mounts) {
    const ids = mountIds(input.root, point);
    // A mount beneath an owned one was made by what owns that one (a container, inside its rootfs).
    const isOwned = [point, ...ancestry(point, sandboxesDir)].some((dir) => owned.mounts.has(dir));
    if (judge("mounts", point, isOwned, ids)) {
      kinds.mounts.leaks.push({ name: point, reason: reason(ids) });
      plan.mounts.push(point);
    }
  }
  const netnsPrefix = `pv-${input.tag}-`;
  for (const name of host.netns) {
    const ids = [name.slice(netnsPrefix.length)];
    if (judge("netns", name, owned.netns.has(name), ids)) {
      kinds.netns.leaks.push({ name, reason: reason(ids) });
      plan.netns.push(name);
    }
  }

  const top = `podvisor-${input.tag}`;
  const leakedCgroups = new Set<string>();
  const holdsKept = new Set<string>(); // cgroups with something below them that is not a leak
  const v1Only = new Set(host.v1Only);
  for (const path of host.cgroups) {
    // Below a container's own cgroup, whatever its processes made is the container's. A copy in the
    // v1 hierarchies alone (runc's) is its record's until the removal, whatever the state.
    const isOwned = owned.cgroups.has(path) || ancestry(path, top).some((dir) => owned.containers.has(dir) && owned.cgroups.has(dir)) || (v1Only.has(path) && owned.recordedCgroups.has(path));
    if (judge("cgroups", path, isOwned, cgroupIds(path))) leakedCgroups.add(path);
    else for (const dir of ancestry(path, top)) holdsKept.add(dir);
  }
  for (const path of host.cgroups) {
    if (!leakedCgroups.has(path)) continue;
    const leak: HostLeak = { name: path, reason: reason(cgroupIds(path)) };
    if (holdsKept.has(path)) leak.notRepaired = "a cgroup below it is owned by a record or in use by an operation in flight";
    else plan.cgroups.push(path);
    kinds.cgroups.leaks.push(leak);
  }

  for (const process of host.processes) {
    const name = String(process.pid);
    const containerCgroup = [process.cgroup, ...ancestry(process.cgroup, top)].find((dir) => owned.containers.has(dir));
    const container = containerCgroup === undefined ? undefined : owned.containers.get(containerCgroup);
    const runs = container?.state === "running" || (container?.state === "created" && input.runsBeforeStart === true);
    const isOwned = !leakedCgroups.has(process.cgroup) && runs;
    if (!judge("processes", name, isOwned, cgroupIds(process.cgroup))) continue;
    const leak: HostLeak = { name, cgroup: process.cgroup, reason: "" };
    kinds.processes.leaks.push(leak);
    if (leakedCgroups.has(process.cgroup)) {
      leak.reason = `in cgroup ${process.cgroup}, itself a leak: ${reason(cgroupIds(process.cgroup))}`;
      if (holdsKept.has(process.cgroup)) leak.notRepaired = "its cgroup holds one that is owned or in flight; killing it whole would reach them";
      else addTo(plan.killCgroups, process.cgroup, name);
    } else if (containerCgroup !== undefined && container?.state === "exited") {
      // Exited is final (a container never starts twice), so nothing may run in its cgroup again.
      leak.reason = `in the cgroup of container ${container.id}, which has exited`;
      addTo(plan.killCgroups, containerCgroup, name);
    } else if (container !== undefined) {
      leak.reason = `in the cgroup of container ${container.id}, which is created but not started`;
      leak.notRepaired = `container ${container.id} may still be started; RemoveContainer kills what is in its cgroup`;
    } else {
      leak.reason = `directly in cgroup ${process.cgroup}, where podvisor runs no process`;
      plan.killPids.push(process);
    }
  }

  for (const [kind, owners, present] of [
    ["mounts", owned.mounts, onHostMounts],
    ["netns", owned.netns, new Set(host.netns)],
    ["cgroups", owned.cgroups, new Set(host.cgroups)],
  ] as const) {
    if (kinds[kind].error !== undefined) continue;
    for (const [name, sandboxId] of owners) if (!present.has(name) && input.expected(sandboxId)) kinds[kind].missing.push(name);
  }
  return { kinds, plan };
}

/** The ids a cgroup path is named after: `podvisor-x/pod-a/ctr-b` → `["a", "b"]` (`conmon-ctr-b`, conmon's beside it, → `"b"`). */
export function cgroupIds(path: string): string[] {
  return path.split("/").slice(1).map((segment) => segment.replace(/^(pod|ctr|conmon-ctr)-/, ""));
}

/** The ids a mount point under `<root>/sandboxes` is named after (its sandbox's first). */
export function mountIds(root: string, point: string): string[] {
  return relative(join(root, "sandboxes"), point).split("/");
}

function emptyKind(): HostKindReport {
  return { owned: [], onHost: [], leaks: [], inFlight: [], missing: [], removed: [], failed: [] };
}

/** The directories (or cgroups) above `path`, nearest first, strictly below `stop`. */
function ancestry(path: string, stop: string): string[] {
  const found: string[] = [];
  for (let dir = dirname(path); dir.startsWith(`${stop}/`); dir = dirname(dir)) found.push(dir);
  return found;
}

function addTo(map: Map<string, string[]>, key: string, value: string): void {
  const values = map.get(key);
  if (values === undefined) map.set(key, [value]);
  else values.push(value);
}

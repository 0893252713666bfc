import { cgroupPids, listCgroups } from "./cgroup.ts";
import { listV1Cgroups } from "./cgroup-v1.ts";
import { mountsUnder } from "./mountinfo.ts";
import { listNetns } from "./netns.ts";

/** What a daemon made on the host and is still there: the leak check's view. */
export interface HostLeftovers {
  netns: string[];
  mounts: string[];
  cgroups: string[];
  pids: number[];
}

/**
 * Lists what lies on the host under one daemon's names: network namespaces `pv-<tag>-…`, mounts
 * under its root, cgroups `podvisor-<tag>/…` (those below it in the v1 hierarchies as `v1:<path>`)
 * and the processes in them. Empty means no leak.
 *
 * @example
 * const left = await findHostLeftovers({ root: "/var/lib/podvisor", tag: "5b96b3af" });
 */
export async function findHostLeftovers(options: { root: string; tag: string }): Promise<HostLeftovers> {
  // On a hybrid host, also the folders runc made below the top in the v1 hierarchies (one is read).
  const cgroups = [...(await listCgroups(`podvisor-${options.tag}`)), ...(await listV1Cgroups(`podvisor-${options.tag}`)).map((path) => `v1:${path}`)];
  const pids = cgroups.length === 0 ? [] : await cgroupPids(`podvisor-${options.tag}`);
  return {
    netns: await listNetns(`pv-${options.tag}-`),
    mounts: (await mountsUnder(options.root)).map((mount) => mount.mountPoint),
    cgroups,
    pids,
  };
}

export function isClean(leftovers: HostLeftovers): boolean {
  return Object.values(leftovers).every((list) => list.length === 0);
}

import { readdir } from "node:fs/promises";
import { listCgroups } from "../../src/host/cgroup.ts";
import { readMountinfo } from "../../src/host/mountinfo.ts";
import { listNetns } from "../../src/host/netns.ts";

/** What the suite could have made: netns, cgroups and mounts under its names, and our zombies. */
export interface HostSnapshot {
  netns: string[];
  cgroups: string[];
  mounts: string[];
}

export async function snapshotHost(): Promise<HostSnapshot> {
  const netns = [...(await listNetns("pv-")), ...(await listNetns("pvtest-"))];
  const cgroups = [...(await listCgroups("podvisor-")), ...(await listCgroups("pvtest-"))];
  const mounts = (await readMountinfo()).map((mount) => mount.mountPoint).filter((point) => /\/(pvtest|podvisor)/.test(point));
  return { netns, cgroups, mounts };
}

/** What is in `after` and was not in `before`. */
export function newSince(before: HostSnapshot, after: HostSnapshot): HostSnapshot {
  const fresh = (key: keyof HostSnapshot) => after[key].filter((item) => !before[key].includes(item));
  return { netns: fresh("netns"), cgroups: fresh("cgroups"), mounts: fresh("mounts") };
}

export async function listTmpRoots(): Promise<string[]> {
  return (await readdir("/tmp")).filter((name) => name.startsWith("pvtest-"));
}

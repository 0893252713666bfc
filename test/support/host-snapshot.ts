import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { findCgroup2Mount, listCgroups } from "../../src/host/cgroup.ts";
import { v1Hierarchies } from "../../src/host/cgroup-v1.ts";
import { readMountinfo } from "../../src/host/mountinfo.ts";
import { listNetns } from "../../src/host/netns.ts";

/** What one test run could have made: netns, cgroups and mounts under its names, and conmon processes of its roots. */
export interface HostSnapshot {
  netns: string[];
  cgroups: string[];
  mounts: string[];
  /** `<pid> <bundle>` of each live conmon whose command line names a path in the run's folder. */
  conmon: string[];
}

/** A run's names: the prefix of what its tests make themselves, its folder, and its daemons' roots. */
export interface RunNames {
  /** `pvtest-<run>-`: the tests' own netns and cgroups. */
  prefix: string;
  /** The run's folder: every root and temporary folder of the run lies in it. */
  dir: string;
  /** Every daemon root the run made (each a direct child of `dir`). */
  roots: Iterable<string>;
}

/** The tag a daemon derives from its root, in its netns (`pv-<tag>-`) and cgroup (`podvisor-<tag>`) names. */
export function rootTag(root: string): string {
  return createHash("sha256").update(root).digest("hex").slice(0, 8);
}

/** What of the run's is on the host now: nothing another run (or a real daemon) made is counted. */
export async function snapshotRun(names: RunNames): Promise<HostSnapshot> {
  const tags = [...names.roots].map(rootTag);
  const netnsPrefixes = [names.prefix, ...tags.map((tag) => `pv-${tag}-`)];
  const cgroupPrefixes = [names.prefix, ...tags.map((tag) => `podvisor-${tag}`)];
  const ours = (prefixes: string[]) => (name: string) => prefixes.some((prefix) => name.startsWith(prefix));
  const netns = (await listNetns("")).filter(ours(netnsPrefixes));
  const topCgroups = (await readdir(await findCgroup2Mount(), { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && ours(cgroupPrefixes)(entry.name))
    .map((entry) => entry.name);
  const cgroups = (await Promise.all(topCgroups.map((name) => listCgroups(name)))).flat().filter(ours(cgroupPrefixes));
  // On a hybrid host runc places containers in every v1 hierarchy too: a folder left there is a leak as well.
  for (const hierarchy of await v1Hierarchies()) {
    const names = await readdir(hierarchy, { withFileTypes: true }).catch(() => []);
    for (const entry of names) if (entry.isDirectory() && ours(cgroupPrefixes)(entry.name)) cgroups.push(`${hierarchy}/${entry.name}`);
  }
  const netnsMounts = netns.map((name) => `/run/netns/${name}`);
  const mounts = (await readMountinfo())
    .map((mount) => mount.mountPoint)
    .filter((point) => point.startsWith(`${names.dir}/`) || netnsMounts.includes(point));
  return { netns, cgroups, mounts, conmon: await conmonsIn(names.dir) };
}

/**
 * conmon processes of the run: conmon double-forks away from the daemon that launched it and lives
 * in no cgroup of the run once its own is gone, so it is found by its command line (`-b <bundle>`).
 */
async function conmonsIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir("/proc")).filter((name) => /^\d+$/.test(name))) {
    const comm = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
    if (comm.trim() !== "conmon") continue;
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (argv.some((arg) => arg.startsWith(`${dir}/`))) found.push(`${pid} ${argv[argv.indexOf("-b") + 1] ?? argv.join(" ")}`);
  }
  return found;
}

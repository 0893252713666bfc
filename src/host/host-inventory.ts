/**
 * What lies on the host under one daemon's names, read for the leak check: mounts under its
 * sandboxes' directory, network namespaces `pv-<tag>-…`, cgroups below `podvisor-<tag>` (v2, and
 * the v1 hierarchies' on a hybrid host), and each
 * process in them with its cgroup. Reading only: nothing here changes the host.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { toErrorData } from "../errors/coded-error.ts";
import type { ErrorData } from "../errors/coded-error.ts";
import { listCgroups } from "./cgroup.ts";
import { listV1Cgroups } from "./cgroup-v1.ts";
import { isNotFound } from "./cgroup-fs.ts";
import { findCgroup2Mount } from "./cgroup-path.ts";
import { Limiter } from "./host-batcher.ts";
import { mountsUnder } from "./mountinfo.ts";
import { listNetns } from "./netns.ts";

/** A process in one of the daemon's cgroups. */
export interface CgroupProcess {
  pid: number;
  /** Relative to the cgroup2 mount, as `/proc/<pid>/cgroup` says it. */
  cgroup: string;
}

export interface HostInventory {
  /** Mount points strictly below `<root>/sandboxes`, deepest first, each once (however many are stacked). */
  mounts: string[];
  netns: string[];
  /** Every cgroup below `podvisor-<tag>` (not that one itself), in v2 or in the v1 hierarchies, parents before children. */
  cgroups: string[];
  /** Those of `cgroups` found only in the v1 hierarchies (runc's copies, which its delete removes). */
  v1Only: string[];
  /** Every process in `podvisor-<tag>` or below it. */
  processes: CgroupProcess[];
  /** A kind that could not be read (no cgroup v2 here, …): the others are still read. */
  errors: Partial<Record<"mounts" | "netns" | "cgroups" | "processes", ErrorData>>;
}

/** `cgroup.procs` files read at once: each holds a descriptor, and there is one per container. */
const procsReadLimit = 64;

/**
 * Reads the host as one daemon sees it. Mounts are only looked for below `<root>/sandboxes`, where
 * the daemon mounts everything it mounts, so that another daemon whose root lies inside this one's
 * is never taken for this one's leak.
 *
 * @example
 * const host = await readHostInventory({ root: "/var/lib/podvisor", tag: "5b96b3af" });
 */
export async function readHostInventory(options: { root: string; tag: string }): Promise<HostInventory> {
  const inventory: HostInventory = { mounts: [], netns: [], cgroups: [], v1Only: [], processes: [], errors: {} };
  const sandboxesDir = join(options.root, "sandboxes");
  try {
    const points = (await mountsUnder(sandboxesDir)).map((mount) => mount.mountPoint);
    inventory.mounts = [...new Set(points)].filter((point) => point !== sandboxesDir);
  } catch (error) {
    inventory.errors.mounts = toErrorData(error);
  }
  try {
    inventory.netns = await listNetns(`pv-${options.tag}-`);
  } catch (error) {
    inventory.errors.netns = toErrorData(error);
  }
  const top = `podvisor-${options.tag}`;
  try {
    // On a hybrid host runc makes the same folders in the v1 hierarchies; one whose container was
    // never deleted is there alone (its v2 twin gone), and is a leak like any other.
    const [v2, v1] = await Promise.all([listCgroups(`${top}/`), listV1Cgroups(top)]);
    const inV2 = new Set(v2);
    inventory.v1Only = v1.filter((path) => !inV2.has(path));
    inventory.cgroups = [...v2, ...inventory.v1Only].sort();
  } catch (error) {
    inventory.errors.cgroups = inventory.errors.processes = toErrorData(error);
    return inventory;
  }
  try {
    inventory.processes = await readProcesses([top, ...inventory.cgroups]);
  } catch (error) {
    inventory.errors.processes = toErrorData(error);
  }
  return inventory;
}

/** The processes of each cgroup (a cgroup gone meanwhile has none), in the cgroups' order. */
async function readProcesses(cgroups: string[]): Promise<CgroupProcess[]> {
  const mount = await findCgroup2Mount();
  const limiter = new Limiter(procsReadLimit);
  const perCgroup = await Promise.all(cgroups.map((cgroup) => limiter.run(async () => {
    try {
      const text = await readFile(join(mount, cgroup, "cgroup.procs"), "utf8");
      return text.split("\n").filter((line) => line !== "").map((line) => ({ pid: Number(line), cgroup }));
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  })));
  return perCgroup.flat();
}

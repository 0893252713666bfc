/**
 * The cgroup v2 controllers a container's limits need (cpu, memory), enabled for podvisor's own
 * cgroups — `podvisor-<tag>` and the sandbox's — when their parent offers them; never above.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { resolveCgroupPath } from "../host/cgroup-path.ts";
import type { ContainerResources } from "../state/records.ts";

/** Whether the container cgroups of a sandbox can take these limits; enables what is missing on the way. */
export async function controllersAvailable(sandboxCgroupPath: string, resources: ContainerResources): Promise<boolean> {
  const needed = [
    ...(resources.cpuPeriod !== undefined || resources.cpuQuota !== undefined || resources.cpuShares !== undefined ? ["cpu"] : []),
    ...(resources.memoryLimitInBytes !== undefined ? ["memory"] : []),
  ];
  const segments = sandboxCgroupPath.split("/");
  try {
    for (let depth = 1; depth <= segments.length; depth++) {
      const dir = await resolveCgroupPath(segments.slice(0, depth).join("/"));
      const offered = words(await readFile(join(dir, "cgroup.controllers"), "utf8"));
      const enabled = words(await readFile(join(dir, "cgroup.subtree_control"), "utf8"));
      for (const controller of needed) {
        if (!offered.includes(controller)) return false;
        if (!enabled.includes(controller)) await writeFile(join(dir, "cgroup.subtree_control"), `+${controller}`);
      }
    }
    return true;
  } catch {
    return false;
  }
}

function words(text: string): string[] {
  return text.trim().split(/\s+/).filter((word) => word !== "");
}

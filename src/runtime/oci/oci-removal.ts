/**
 * Removing an OCI container whole, whoever made it: the runtime's state (`delete --force`), conmon's
 * cgroup once conmon has left it, the container's cgroups (v2, and the v1 folders runc made), its
 * folder (bundle, persist dir, pid files) and its exit file. Each step treats "gone" as done.
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { removeCgroup } from "../../host/cgroup-remove.ts";
import { waitForCgroupEmpty } from "../../host/cgroup-wait.ts";
import { removeEmptyV1Cgroups } from "../../host/cgroup-v1.ts";
import { conmonCgroupPath } from "./oci-layout.ts";
import type { OciLayout } from "./oci-layout.ts";
import { isRuntimeNotFound } from "./oci-runtime.ts";
import type { OciRuntime } from "./oci-runtime.ts";

/** How long a removal waits for conmon to leave its cgroup after the container is gone. */
const conmonExitMs = 5_000;

export interface OciRemovable {
  id: string;
  /** The container's cgroup, relative to the cgroup2 mount. */
  cgroupPath: string;
}

export async function removeOciContainer(runtime: OciRuntime, layout: OciLayout, container: OciRemovable): Promise<void> {
  const { id, cgroupPath } = container;
  const paths = layout.container(id);
  await runtime.delete(id).catch((error: unknown) => {
    if (!isRuntimeNotFound(error)) throw error;
  });
  const conmonCgroup = conmonCgroupPath(cgroupPath);
  await waitForCgroupEmpty(conmonCgroup, { signal: AbortSignal.timeout(conmonExitMs) }).catch(() => {});
  await removeCgroup(conmonCgroup);
  await removeCgroup(cgroupPath);
  await removeEmptyV1Cgroups(cgroupPath);
  await rm(paths.dir, { recursive: true, force: true });
  await rm(join(layout.exitDir, id), { force: true });
  await rm(join(layout.socketDir, id), { force: true }); // conmon's link to the bundle, left by conmon
}

/**
 * What an earlier daemon left for `id`, from the bundle it wrote (its cgroup); undefined when it left
 * nothing, or the id is not one this backend could have made.
 */
export async function findOciLeftover(layout: OciLayout, id: string): Promise<OciRemovable | undefined> {
  let bundleDir: string;
  try {
    bundleDir = layout.container(id).bundleDir;
  } catch {
    return undefined;
  }
  const config = await readFile(join(bundleDir, "config.json"), "utf8").then((text) => JSON.parse(text) as { linux?: { cgroupsPath?: unknown } }, () => undefined);
  const cgroupsPath = config?.linux?.cgroupsPath;
  return typeof cgroupsPath === "string" ? { id, cgroupPath: cgroupsPath.replace(/^\//, "") } : undefined;
}

/**
 * What a runtime needs of this host, checked when its backend is made, so a misfit fails the daemon's
 * start with words rather than every container later. crun 1.8 refuses every container while the v2
 * hierarchy of a hybrid host (v1 controllers at /sys/fs/cgroup, cgroup2 at /sys/fs/cgroup/unified)
 * holds any controller — "cgroups in hybrid mode not supported" — whatever its cgroup manager.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CodedError } from "../../errors/coded-error.ts";
import { findCgroup2Mount } from "../../host/cgroup-path.ts";

/**
 * Rejects with `FAILED_PRECONDITION` when `runtime` is crun and the cgroup2 mount is a hybrid one
 * (not `/sys/fs/cgroup` itself) whose `cgroup.controllers` is not empty.
 *
 * @example
 * await validateRuntimeHost("crun"); // throws on a hybrid host whose cgroup2 holds hugetlb
 */
export async function validateRuntimeHost(runtime: string, options: { cgroup2Mount?: string } = {}): Promise<void> {
  if (runtime !== "crun") return;
  const mount = options.cgroup2Mount ?? (await findCgroup2Mount());
  if (mount === "/sys/fs/cgroup") return; // unified host
  const controllers = (await readFile(join(mount, "cgroup.controllers"), "utf8").catch(() => "")).trim();
  if (controllers === "") return;
  throw new CodedError(
    "FAILED_PRECONDITION",
    `Cannot use the crun backend: this host's cgroups are hybrid (cgroup v2 at ${mount}) and its v2 hierarchy holds controllers (${controllers}), ` +
      "which crun refuses for every container (\"cgroups in hybrid mode not supported\"). " +
      "Use --backend runc, or boot the host with the unified hierarchy (systemd.unified_cgroup_hierarchy=1), " +
      `or move the controllers (${controllers}) back to cgroup v1 so that ${join(mount, "cgroup.controllers")} is empty`,
    { details: { mount, controllers: controllers.split(" ") } },
  );
}

/**
 * What the process holder (`process-holder.pl`) is asked to run for a container. User argv is never
 * interpreted by a shell: it travels as separate arguments to `exec`.
 *
 * In the holder's forked child, in this order (same pid throughout, no further fork):
 * 1. a session of its own; its pid written into the container's `cgroup.procs` (a host path), so
 *    everything from here on — and every child the command will ever fork — is inside the cgroup;
 * 2. its working directory (a missing one fails the start: `START_FAILED`);
 * 3. stdin from /dev/null, stdout and stderr appended to the log (a host path);
 * 4. exactly the container's environment (plus a default PATH); no descriptor of the daemon's;
 * 5. `nsenter` joins the network namespace (`/run/netns/…`, a host path) and, with `--root`, chroots
 *    into the rootfs, keeping the working directory; then the user's command, looked up in the
 *    container's PATH (inside the rootfs when there is one). Not found: exit 127, said in the log.
 * Steps 1–3 come first because their paths are not visible after the chroot.
 */
import { access, constants } from "node:fs/promises";
import type { HolderSpawn } from "./process-holder.ts";
import type { ContainerSpec } from "./runtime-backend.ts";
import { resolveInRootfs } from "./rootfs-path.ts";

/** The PATH a container gets unless its spec sets one. */
export const defaultContainerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const toolDirectories = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/local/sbin"];
let nsenterPath: Promise<string> | undefined;

/**
 * Where the holder writes a container's raw wait status when it ends, before it tells the daemon:
 * next to its log, so a daemon that crashed in between reads it after its restart.
 */
export function exitStatusPath(spec: Pick<ContainerSpec, "logPath">): string {
  return `${spec.logPath}.exit`;
}

/**
 * The holder's request that runs `spec`.
 *
 * @example
 * const request = await holderCommand(spec, "/sys/fs/cgroup/unified/x/cgroup.procs");
 * const { pid, exited } = await holder.spawn(request);
 */
export async function holderCommand(spec: ContainerSpec, cgroupProcsFile: string | undefined): Promise<HolderSpawn> {
  const nsenter: string[] = [];
  if (spec.netnsPath !== undefined || spec.rootfsDir !== undefined) {
    nsenter.push(await findNsenter());
    if (spec.netnsPath !== undefined) nsenter.push(`--net=${spec.netnsPath}`);
    if (spec.rootfsDir !== undefined) nsenter.push(`--root=${spec.rootfsDir}`);
    nsenter.push("--");
  }
  const cwd =
    spec.rootfsDir === undefined ? (spec.cwd ?? "/") : await resolveInRootfs(spec.rootfsDir, spec.cwd ?? "/");
  return {
    argv: [...nsenter, ...spec.command],
    cwd,
    env: { PATH: defaultContainerPath, ...spec.env },
    logPath: spec.logPath,
    cgroupProcs: cgroupProcsFile ?? "",
    exitPath: exitStatusPath(spec),
  };
}

/** nsenter's absolute path, found once in the usual places (the container's PATH may not have it). */
function findNsenter(): Promise<string> {
  nsenterPath ??= (async () => {
    for (const dir of toolDirectories) {
      const path = `${dir}/nsenter`;
      if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
    }
    nsenterPath = undefined;
    throw new Error(`Cannot find nsenter in ${toolDirectories.join(", ")}: install util-linux`);
  })();
  return nsenterPath;
}

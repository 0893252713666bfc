/**
 * The few lines of shell that run before a container's command, and the argv that carries them.
 * User argv is never interpreted: it travels as separate arguments and is run with `exec "$@"`.
 *
 * Order, each step exec'ing the next in the same process (same pid, no fork):
 * 0. `bash` closes every descriptor above 2 it inherited (see `closeInherited`), then execs `sh`;
 * 1. `sh` appends stdout and stderr to the log (a host path);
 * 2. it writes its own pid into the container's `cgroup.procs` (a host path), so everything from
 *    here on — and every child the command will ever fork — is inside the cgroup;
 * 3. `nsenter` joins the network namespace (`/run/netns/…`, a host path) and, with `--root`,
 *    chroots into the rootfs, keeping the working directory the wrapper was started in;
 * 4. the user's command, looked up in the container's PATH (inside the rootfs when there is one).
 * Steps 1–2 come first because their paths are not visible after the chroot.
 */
import { access, constants } from "node:fs/promises";
import type { ContainerSpec } from "./runtime-backend.ts";
import { resolveInRootfs } from "./rootfs-path.ts";

/**
 * The wrapper: $1 log path, $2 cgroup.procs path or "", $3 the container's own SHLVL or "-" for
 * none, then the argv to exec.
 */
const wrapperScript = [
  'exec >>"$1" 2>&1 || exit 125',
  'if [ -n "$2" ]; then echo $$ >"$2" || exit 125; fi',
  'if [ "$3" = - ]; then unset SHLVL; else export SHLVL="$3"; fi',
  "shift 3",
  'exec "$@"',
].join("\n");

/**
 * Runs first, in bash: closes every descriptor above 2 the wrapper inherited, so no container holds
 * one of the daemon's, then execs the wrapper ($1) in sh with the rest. Deno 2.9 lets children
 * inherit its sockets and some pipes (seen: every container held the daemon's API socket, so a
 * crashed daemon's socket still took connections, which a container could have answered); Node marks
 * its own close-on-exec, but passes on any the daemon itself inherited from whatever started it.
 * bash because dash cannot name a descriptor above 9; then sh because bash, even told to unset it,
 * hands an `SHLVL` to what it execs, and the command must see only its own environment.
 */
const closeInherited = [
  'for fd in /proc/$$/fd/*; do fd=${fd##*/}; case $fd in 0|1|2) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac; done',
  'exec /bin/sh -c "$1" podvisor-wrapper "${@:2}"',
].join("\n");

/** The PATH a container gets unless its spec sets one. */
export const defaultContainerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const toolDirectories = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/local/sbin"];
let nsenterPath: Promise<string> | undefined;

export interface WrapperCommand {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/**
 * The command that runs `spec` through the wrapper.
 *
 * @example
 * const { file, args, cwd, env } = await wrapperCommand(spec, "/sys/fs/cgroup/unified/x/cgroup.procs");
 * execa(file, args, { cwd, env, extendEnv: false });
 */
export async function wrapperCommand(spec: ContainerSpec, cgroupProcsFile: string | undefined): Promise<WrapperCommand> {
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
    file: "/bin/bash",
    args: ["-c", closeInherited, "podvisor-closer", wrapperScript, spec.logPath, cgroupProcsFile ?? "", spec.env?.SHLVL ?? "-", ...nsenter, ...spec.command],
    cwd,
    env: { PATH: defaultContainerPath, ...spec.env },
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

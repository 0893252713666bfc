/**
 * Where the OCI backends keep things, under their own folder of the daemon's root:
 *
 * ```
 * <root>/runtime/              the runtime's state (`runc --root`): only podvisor's containers
 * <root>/exits/<id>            conmon's exit files (watched with inotify)
 * <root>/sockets/              conmon's attach sockets
 * <root>/pause-rootfs/         the root of infra containers without one: catatonit only
 * <root>/containers/<id>/bundle/config.json
 * <root>/containers/<id>/persist/exit     the exit status, kept for good
 * <root>/containers/<id>/pidfile, conmon.pid, started.json
 * ```
 *
 * and, on the host, conmon's cgroup beside the container's (`…/pod-1/conmon-ctr-2` for `…/pod-1/ctr-2`),
 * so a kill of the container's cgroup never takes conmon, which must live to write the exit status.
 */
import { access, constants } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CodedError } from "../../errors/coded-error.ts";

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface ContainerPaths {
  dir: string;
  bundleDir: string;
  persistDir: string;
  pidFile: string;
  conmonPidFile: string;
  /** What {@link StartedInfo} is kept in, for a later daemon. */
  startedFile: string;
  /** The process spec of an exec. */
  execDir: string;
}

/** What a later daemon needs to find a started container again. */
export interface StartedInfo {
  pid: number;
  /** `/proc/<pid>/stat` start time of the container's init. */
  startTime: string;
  conmonPid: number;
  conmonStartTime?: string;
  startedAt: number;
}

export class OciLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  get runtimeRoot(): string {
    return join(this.root, "runtime");
  }

  get exitDir(): string {
    return join(this.root, "exits");
  }

  get socketDir(): string {
    return join(this.root, "sockets");
  }

  /** The read-only root of infra containers that have none (see `oci-pause.ts`). */
  get pauseRootfs(): string {
    return join(this.root, "pause-rootfs");
  }

  container(id: string): ContainerPaths {
    validateOciId(id);
    const dir = join(this.root, "containers", id);
    return {
      dir,
      bundleDir: join(dir, "bundle"),
      persistDir: join(dir, "persist"),
      pidFile: join(dir, "pidfile"),
      conmonPidFile: join(dir, "conmon.pid"),
      startedFile: join(dir, "started.json"),
      execDir: join(dir, "exec"),
    };
  }
}

/** Container ids name folders and runtime state: a plain name only. */
export function validateOciId(id: string): void {
  if (!idPattern.test(id)) throw new RangeError(`Cannot use container id "${id}": the OCI backends take letters, digits, "_", "." and "-" only`);
}

/** The cgroup conmon is placed in: a sibling of the container's. */
export function conmonCgroupPath(cgroupPath: string): string {
  const parent = dirname(cgroupPath);
  const name = `conmon-${basename(cgroupPath)}`;
  return parent === "." ? name : `${parent}/${name}`;
}

/** The first of `candidates` that is an executable file; a name without `/` is looked up in PATH and the sbin folders. */
export async function findExecutable(name: string): Promise<string | undefined> {
  const dirs = name.includes("/") ? [""] : [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  for (const dir of dirs) {
    const path = dir === "" ? name : join(dir, name);
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
  }
  return undefined;
}

export async function requireExecutable(name: string, what: string): Promise<string> {
  const path = await findExecutable(name);
  if (path === undefined) {
    throw new CodedError("FAILED_PRECONDITION", `Cannot use the OCI backend: ${what} "${name}" is not an executable found here (Debian package: ${what})`);
  }
  return path;
}

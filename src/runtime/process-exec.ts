/**
 * The process backend's exec (CRI `ExecSync`): a command run the way the container's own command
 * runs (see `process-holder-command.ts`) — in the container's cgroup, its network namespace, chrooted into
 * its rootfs when it has one, with its environment and working directory — and its output and exit
 * code collected; past its timeout it is killed (SIGKILL). A small host shell writes its own pid
 * into the container's `cgroup.procs` first and then execs, so every process the command forks is
 * in the container's cgroup (and is killed with it); the user's argv is never interpreted by that shell (it travels as `"$@"`).
 */
import { access, constants } from "node:fs/promises";
import { constants as os } from "node:os";
import { execa } from "execa";
import { resolveInRootfs } from "./rootfs-path.ts";
import { defaultContainerPath } from "./process-holder-command.ts";
import type { ContainerSpec, ExecOptions, ExecResult } from "./runtime-backend.ts";
import * as errors from "./runtime-errors.ts";

/** The most output kept per stream (CRI-O's limit too); the command is killed past it. */
const maxOutputBytes = 16 * 1024 * 1024;
const toolDirectories = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/** What the backend knows of a container that exec needs. */
export interface ExecTarget {
  spec: ContainerSpec;
  /** The cgroup's absolute directory, or undefined for a process-group container. */
  cgroupDir?: string;
  /** Whether its main process still runs. */
  running: boolean;
}

export async function execInProcessContainer(target: ExecTarget, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const { spec } = target;
  if (!target.running) throw errors.failedPrecondition(`Cannot exec in container "${spec.id}": it is not running`, spec.id);
  const nsenter: string[] = [];
  if (spec.netnsPath !== undefined || spec.rootfsDir !== undefined) {
    nsenter.push(await findTool("nsenter"));
    if (spec.netnsPath !== undefined) nsenter.push(`--net=${spec.netnsPath}`);
    if (spec.rootfsDir !== undefined) nsenter.push(`--root=${spec.rootfsDir}`);
    nsenter.push("--");
  }
  const cwd = spec.rootfsDir === undefined ? (spec.cwd ?? "/") : await resolveInRootfs(spec.rootfsDir, spec.cwd ?? "/");
  const joinCgroup = target.cgroupDir === undefined ? [] : [await findTool("sh"), "-c", 'echo $$ > "$0" && exec "$@"', `${target.cgroupDir}/cgroup.procs`];
  const [file, ...args] = [...joinCgroup, ...nsenter, ...command];
  const result = await execa(file, args, {
    cwd,
    env: { PATH: defaultContainerPath, ...spec.env },
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    stripFinalNewline: false,
    maxBuffer: maxOutputBytes,
    timeout: options.timeoutMs === undefined || options.timeoutMs === 0 ? undefined : options.timeoutMs,
    cancelSignal: options.signal,
    killSignal: "SIGKILL",
  });
  const signalled = result.signal === undefined ? undefined : os.signals[result.signal as keyof typeof os.signals];
  return {
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    exitCode: result.exitCode ?? (signalled === undefined ? 255 : 128 + signalled),
    timedOut: result.timedOut,
  };
}

const found = new Map<string, Promise<string>>();

/** A host tool's absolute path, found once in the usual places (the container's PATH may not have it). */
function findTool(name: string): Promise<string> {
  let path = found.get(name);
  if (path === undefined) {
    path = (async () => {
      for (const dir of toolDirectories) {
        if (await access(`${dir}/${name}`, constants.X_OK).then(() => true, () => false)) return `${dir}/${name}`;
      }
      found.delete(name);
      throw new Error(`Cannot find ${name} in ${toolDirectories.join(", ")}`);
    })();
    found.set(name, path);
  }
  return path;
}

/**
 * The conmon processes of one OCI backend's root, found in `/proc` by their command line: conmon
 * is launched with `-c <id>`, `-b <root>/containers/<id>/bundle` and `--exit-dir <root>/exits`
 * (see `conmon.ts`), so a conmon of another daemon (another root), or of CRI-O or podman, never
 * matches. conmon double-forks away from the daemon that launched it and is nobody's child here:
 * found this way, it is found whether its cgroup still exists or not.
 */
import { readdir, readFile } from "node:fs/promises";
import { CodedError } from "../../errors/coded-error.ts";
import { Limiter } from "../../host/host-batcher.ts";
import type { OciLayout } from "./oci-layout.ts";
import { readProcStartTime } from "./proc-start-time.ts";

/** `/proc/<pid>/cmdline` files read at once (one descriptor each). */
const readLimit = 64;
/** How often a killed conmon is looked for until it is gone, and for how long. */
const gonePollMs = 20;
const goneTimeoutMs = 5_000;

export interface OciConmon {
  pid: number;
  /** The container it watches (its `-c`). */
  containerId: string;
}

/**
 * Every live conmon (zombies have no command line) whose command line names this layout's exit dir
 * and the bundle of the container it names.
 *
 * @example
 * const conmons = await findOciConmons(new OciLayout("/var/lib/podvisor/oci"));
 */
export async function findOciConmons(layout: OciLayout): Promise<OciConmon[]> {
  const pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name)).map(Number);
  const limiter = new Limiter(readLimit);
  const found = await Promise.all(pids.map((pid) => limiter.run(async () => {
    const containerId = conmonOf(layout, await readCmdline(pid));
    return containerId === undefined ? undefined : { pid, containerId };
  })));
  return found.filter((conmon) => conmon !== undefined);
}

/**
 * SIGKILL to `pid` if it is still the conmon of `containerId` under this layout (read again just
 * before, so a pid reused since the listing is never signalled), then waits until it is gone.
 * Resolves false when it was gone already.
 */
export async function killOciConmon(layout: OciLayout, conmon: OciConmon, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  const startTime = await readProcStartTime(conmon.pid);
  if (startTime === undefined || conmonOf(layout, await readCmdline(conmon.pid)) !== conmon.containerId) return false;
  try {
    process.kill(conmon.pid, "SIGKILL");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
  const giveUpAt = Date.now() + goneTimeoutMs;
  while ((await readProcStartTime(conmon.pid)) === startTime) {
    options.signal?.throwIfAborted();
    if (Date.now() > giveUpAt) throw new CodedError("DEADLINE_EXCEEDED", `Cannot kill conmon ${conmon.pid} of container "${conmon.containerId}": still there ${goneTimeoutMs} ms after SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, gonePollMs));
  }
  return true;
}

/** The container id a command line is the conmon of, under this layout; undefined for any other process. */
export function conmonOf(layout: OciLayout, argv: string[]): string | undefined {
  if (!argv.includes(layout.exitDir)) return undefined; // cheap first: most processes name no such path
  const value = (flag: string) => {
    const index = argv.indexOf(flag);
    return index === -1 ? undefined : argv[index + 1];
  };
  const id = value("-c");
  if (id === undefined || value("--exit-dir") !== layout.exitDir) return undefined;
  try {
    return value("-b") === layout.container(id).bundleDir ? id : undefined;
  } catch {
    return undefined; // not an id this backend could have made
  }
}

async function readCmdline(pid: number): Promise<string[]> {
  const text = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return text === "" ? [] : text.replace(/\0$/, "").split("\0");
}

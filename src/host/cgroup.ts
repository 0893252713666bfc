/**
 * cgroup v2 primitives: create, kill, inspect and list the cgroups podvisor runs containers in.
 * Every function takes a path relative to the cgroup2 mount (`podvisor-x/pod-1/ctr-2`), checked by
 * {@link resolveCgroupPath}, and treats "already gone" as done. Waiting lives in `cgroup-wait.ts`,
 * removal in `cgroup-remove.ts`.
 */
import { constants } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CodedError } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";
import { descendants, isNotFound, readPopulated, subdirectories } from "./cgroup-fs.ts";
import { findCgroup2Mount, normalizeCgroupPath, resolveCgroupPath } from "./cgroup-path.ts";
import { Limiter } from "./host-batcher.ts";

/**
 * Kills in flight at once, whoever asks (actors' stops, the main thread's takeovers, removals, the
 * leak check): each opens a `cgroup.kill`, and 40,000 at once ran out of descriptors (EMFILE).
 */
const kills = new Limiter(256);

export { findCgroup2Mount } from "./cgroup-path.ts";

const log = getLogger("host:cgroup");

/**
 * Creates a cgroup and any missing parents; an existing one is success. Returns its absolute path.
 *
 * @example
 * const dir = await createCgroup("podvisor-x/pod-1/ctr-2");
 */
export async function createCgroup(path: string): Promise<string> {
  const dir = await resolveCgroupPath(path);
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Kills every process in a cgroup and all its descendants at once (`cgroup.kill`, SIGKILL).
 * A cgroup that does not exist is success. Does not wait: see `waitForCgroupEmpty`.
 *
 * @example
 * await killCgroup("podvisor-x/pod-1/ctr-2");
 */
export async function killCgroup(path: string): Promise<void> {
  const dir = await resolveCgroupPath(path);
  await kills.run(() => writeKill(path, dir));
}

async function writeKill(path: string, dir: string): Promise<void> {
  try {
    // O_WRONLY without O_CREAT: cgroup.kill is write-only, and a missing cgroup must not be "created".
    await writeFile(join(dir, "cgroup.kill"), "1", { flag: constants.O_WRONLY });
    log.debug("Killed cgroup", { path });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (await exists(dir)) {
      throw new CodedError("UNAVAILABLE", `Cannot kill cgroup "${path}": this kernel has no cgroup.kill`, {
        cause: error,
      });
    }
  }
}

/**
 * Whether any process lives in the cgroup or below it (`populated` in `cgroup.events`).
 * A missing cgroup is not populated.
 */
export async function isPopulated(path: string): Promise<boolean> {
  return readPopulated(await resolveCgroupPath(path));
}

/**
 * The pids of every process in the cgroup and its descendants, ascending. A missing cgroup has none.
 *
 * @example
 * await cgroupPids("podvisor-x/pod-1"); // [4242, 4250]
 */
export async function cgroupPids(path: string): Promise<number[]> {
  const root = await resolveCgroupPath(path);
  const pids: number[] = [];
  for (const dir of [root, ...(await descendants(root)).map((relative) => join(root, relative))]) {
    try {
      const text = await readFile(join(dir, "cgroup.procs"), "utf8");
      for (const line of text.split("\n")) if (line !== "") pids.push(Number(line));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return pids.sort((a, b) => a - b);
}

/**
 * Every cgroup whose path starts with `prefix`, and their descendants, relative to the mount,
 * parents before children. The last segment of `prefix` is a name prefix (`pvtest-` matches
 * `pvtest-a1`); a trailing `/` lists what lies below a cgroup. The leak check's view of the host.
 *
 * @example
 * await listCgroups("podvisor-x/"); // ["podvisor-x/pod-1", "podvisor-x/pod-1/ctr-2"]
 */
export async function listCgroups(prefix: string): Promise<string[]> {
  const mount = await findCgroup2Mount();
  const slash = prefix.lastIndexOf("/");
  const parent = slash === -1 ? "" : normalizeCgroupPath(prefix.slice(0, slash), mount);
  const namePrefix = prefix.slice(slash + 1);
  const found: string[] = [];
  for (const name of await subdirectories(join(mount, parent))) {
    if (!name.startsWith(namePrefix)) continue;
    const path = parent === "" ? name : `${parent}/${name}`;
    found.push(path, ...(await descendants(join(mount, path))).map((relative) => `${path}/${relative}`));
  }
  return found;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

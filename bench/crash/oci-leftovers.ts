/**
 * What a crash trial on an OCI backend (runc, crun) checks besides `findHostLeftovers`, once every
 * sandbox is removed and the daemon stopped: no conmon of the trial's root alive, no runtime state,
 * bundle, socket link or exit file left under `<root>/oci`, no v1 cgroup folder of the daemon's
 * (runc places containers in every v1 hierarchy of a hybrid host too). And, for the cleanup, their
 * removal by hand: the backend's own removal of leftovers, then an rmdir of each empty v1 folder.
 */
import { readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { v1Hierarchies } from "../../src/host/cgroup-v1.ts";
import { listOciLeftovers, removeOciLeftovers } from "../../src/runtime/oci/oci-leftovers.ts";
import { findExecutable, OciLayout } from "../../src/runtime/oci/oci-layout.ts";
import { OciRuntime } from "../../src/runtime/oci/oci-runtime.ts";
import type { BackendLeftover } from "../../src/runtime/runtime-backend.ts";

/** Each leftover in words (`conmon 4242 (conmon of container x)`, `runtimeStates /…/runtime/x`, `v1 cgroup /sys/fs/cgroup/cpu/podvisor-…`). */
export async function findOciTrialLeftovers(root: string, tag: string): Promise<string[]> {
  const { items, errors } = await listOciLeftovers(new OciLayout(join(root, "oci")));
  const found = items.map((item) => (item.kind === "conmon" ? `conmon ${item.name} (${item.what})` : `${item.kind} ${item.name}`));
  for (const [kind, error] of Object.entries(errors)) found.push(`${kind} unreadable: ${error.message}`);
  for (const dir of await v1Folders(tag)) found.push(`v1 cgroup ${dir}`);
  return found;
}

/** Removes what {@link findOciTrialLeftovers} finds; returns what it did. */
export async function removeOciTrialLeftovers(root: string, tag: string, runtimeName: string): Promise<string[]> {
  const done: string[] = [];
  const layout = new OciLayout(join(root, "oci"));
  const { items } = await listOciLeftovers(layout);
  if (items.length > 0) {
    const runtime = new OciRuntime({ path: (await findExecutable(runtimeName)) ?? runtimeName, root: layout.runtimeRoot });
    const byContainer = Map.groupBy(items, (item: BackendLeftover) => item.containerId);
    let failed = 0;
    for (const group of byContainer.values()) {
      for (const outcome of await removeOciLeftovers(runtime, layout, group)) if (outcome.error !== undefined) failed++;
    }
    done.push(`removed ${items.length - failed} of ${items.length} OCI leftover(s) of ${byContainer.size} container(s)`);
  }
  const folders = await v1Folders(tag);
  if (folders.length > 0) {
    let removed = 0;
    for (const dir of folders.toReversed()) removed += await rmdir(dir).then(() => 1, () => 0); // deepest first; a busy one stays
    done.push(`removed ${removed} of ${folders.length} v1 cgroup folder(s)`);
  }
  return done;
}

/** Every folder of `podvisor-<tag>` in the v1 hierarchies, parents before children. */
async function v1Folders(tag: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
    if (entries === undefined) return;
    found.push(dir);
    for (const entry of entries) if (entry.isDirectory()) await walk(join(dir, entry.name));
  };
  for (const hierarchy of await v1Hierarchies()) await walk(join(hierarchy, `podvisor-${tag}`));
  return found;
}

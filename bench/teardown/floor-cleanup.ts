/**
 * The floor's leak check and its unconditional cleanup, which also undoes a setup that failed
 * halfway: everything is found by name (`pvfloor-<tag>…`) or by place (under the root).
 */
import { rm } from "node:fs/promises";
import { killCgroup, listCgroups } from "../../src/host/cgroup.ts";
import { removeCgroup } from "../../src/host/cgroup-remove.ts";
import { waitForCgroupEmpty } from "../../src/host/cgroup-wait.ts";
import { mountsUnder } from "../../src/host/mountinfo.ts";
import { listNetns } from "../../src/host/netns.ts";
import { removeNetnsBatch } from "../../src/host/netns-remove.ts";
import { unmountMany } from "../../src/host/unmount.ts";
import type { FloorHost } from "./floor-setup.ts";

/** How long cleanup waits for killed processes, and for the drivers that reap them. */
const cleanupGraceMs = 10_000;

/** What is left on the host of one floor run; all empty means nothing leaked. */
export interface FloorLeftovers {
  netns: string[];
  cgroups: string[];
  mounts: string[];
}

/**
 * Lists the namespaces `pvfloor-<tag>-<i>`, the cgroups `pvfloor-<tag>` and below, and the mounts
 * under `root`.
 *
 * @example
 * const left = await findFloorLeftovers({ tag: "a1", root: "/tmp/pvfloor-a1" });
 */
export async function findFloorLeftovers(options: { tag: string; root: string }): Promise<FloorLeftovers> {
  const top = `pvfloor-${options.tag}`;
  const ours = new RegExp(`^${top}-\\d+$`);
  return {
    netns: (await listNetns(`${top}-`)).filter((name) => ours.test(name)),
    cgroups: (await listCgroups(top)).filter((path) => path === top || path.startsWith(`${top}/`)),
    mounts: (await mountsUnder(options.root)).map((mount) => mount.mountPoint),
  };
}

/** Whether nothing is left. */
export function isFloorClean(left: FloorLeftovers): boolean {
  return left.netns.length + left.cgroups.length + left.mounts.length === 0;
}

/**
 * Removes whatever the run left, best effort and in a safe order: kill every process, reap the
 * drivers, unmount, remove the namespaces and cgroups, then delete the root (only once nothing is
 * mounted under it). Throws an AggregateError naming the steps that failed, after trying them all.
 *
 * @example
 * await cleanUpFloor(host, { tag, root });
 */
export async function cleanUpFloor(host: FloorHost, options: { tag: string; root: string }): Promise<void> {
  const errors: unknown[] = [];
  const attempt = async (step: () => Promise<unknown>): Promise<void> => {
    await step().catch((error: unknown) => void errors.push(error));
  };
  await attempt(async () => {
    await killCgroup(host.top);
    await waitForCgroupEmpty(host.top, { signal: AbortSignal.timeout(cleanupGraceMs) });
  });
  await attempt(() => reapDrivers(host));
  const left = await findFloorLeftovers(options);
  if (left.mounts.length > 0) {
    await attempt(async () => {
      const { failed, refused } = await unmountMany(left.mounts, { root: options.root });
      if (failed.length + refused.length > 0) throw new Error(`Cannot unmount ${failed.length + refused.length} paths`);
    });
  }
  if (left.netns.length > 0) await attempt(() => removeNetnsBatch(left.netns));
  if (left.cgroups.length > 0) await attempt(() => removeCgroup(host.top));
  if ((await mountsUnder(options.root)).length === 0) await attempt(() => rm(options.root, { recursive: true, force: true }));
  if (errors.length > 0) throw new AggregateError(errors, `Cannot clean up the floor: ${errors.length} steps failed`);
}

/** Waits for every driver shell to exit (it does once its children have); SIGKILL after the grace. */
async function reapDrivers(host: FloorHost): Promise<void> {
  const timeout = AbortSignal.timeout(cleanupGraceMs);
  const onTimeout = () => {
    for (const driver of host.drivers) driver.kill("SIGKILL");
  };
  timeout.addEventListener("abort", onTimeout, { once: true });
  try {
    await Promise.all(host.drivers);
  } finally {
    timeout.removeEventListener("abort", onTimeout);
  }
}

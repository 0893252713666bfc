/**
 * Removes what a failed run of the C floor left (rawfloor exits at its first failed system call and
 * leaves its sandboxes as they are). Everything is found by the run's prefix: the cgroup
 * `rawfloor-<prefix>` (its processes are killed through it), the mounts under
 * `/run/rawfloor/<prefix>`, the namespaces `/run/netns/<prefix>-<i>`.
 */
import { rm, rmdir } from "node:fs/promises";
import { killCgroup, listCgroups } from "../../src/host/cgroup.ts";
import { removeCgroup } from "../../src/host/cgroup-remove.ts";
import { waitForCgroupEmpty } from "../../src/host/cgroup-wait.ts";
import { mountsUnder } from "../../src/host/mountinfo.ts";
import { listNetns } from "../../src/host/netns.ts";
import { removeNetnsBatch } from "../../src/host/netns-remove.ts";
import { unmountMany } from "../../src/host/unmount.ts";

const graceMs = 10_000;

/** What a C floor run with this prefix left on the host; all empty means nothing. */
export async function findCFloorLeftovers(prefix: string): Promise<{ cgroups: string[]; mounts: string[]; netns: string[] }> {
  const top = `rawfloor-${prefix}`;
  const ours = new RegExp(`^${prefix}-\\d+$`);
  return {
    cgroups: (await listCgroups(top)).filter((path) => path === top || path.startsWith(`${top}/`)),
    mounts: (await mountsUnder(`/run/rawfloor/${prefix}`)).map((mount) => mount.mountPoint),
    netns: (await listNetns(`${prefix}-`)).filter((name) => ours.test(name)),
  };
}

/**
 * Kills the run's processes, unmounts, removes its namespaces, cgroups and folder; best effort,
 * every step tried, then one AggregateError naming those that failed.
 *
 * @example
 * await cleanUpCFloor("pvrfAb12Cd34");
 */
export async function cleanUpCFloor(prefix: string): Promise<void> {
  if (!/^pvrf[A-Za-z0-9]{1,40}$/.test(prefix)) throw new TypeError(`Cannot clean up the C floor: ${JSON.stringify(prefix)} is not a prefix of ours`);
  const errors: unknown[] = [];
  const attempt = async (step: () => Promise<unknown>): Promise<void> => {
    await step().catch((error: unknown) => void errors.push(error));
  };
  const top = `rawfloor-${prefix}`;
  const left = await findCFloorLeftovers(prefix);
  if (left.cgroups.length > 0) {
    await attempt(async () => {
      await killCgroup(top);
      await waitForCgroupEmpty(top, { signal: AbortSignal.timeout(graceMs) });
    });
  }
  const base = `/run/rawfloor/${prefix}`;
  if (left.mounts.length > 0) {
    await attempt(async () => {
      const { failed, refused } = await unmountMany(left.mounts.toReversed(), { root: base });
      if (failed.length + refused.length > 0) throw new Error(`Cannot unmount ${failed.length + refused.length} of the C floor's paths`);
    });
  }
  if (left.netns.length > 0) await attempt(() => removeNetnsBatch(left.netns));
  if (left.cgroups.length > 0) await attempt(() => removeCgroup(top));
  if ((await mountsUnder(base)).length === 0) await attempt(() => rm(base, { recursive: true, force: true }));
  await rmdir("/run/rawfloor").catch(() => {}); // only when no other run uses it
  if (errors.length > 0) throw new AggregateError(errors, `Cannot clean up the C floor ${prefix}: ${errors.length} steps failed`);
}

/**
 * vitest global setup: the suite ends by checking that no mount, network namespace or cgroup
 * (and so no process in one) it made is left. It compares the host before and after the whole run, so a daemon
 * running on the machine for real is never mistaken for a leak.
 */
import { newSince, snapshotHost } from "./host-snapshot.ts";
import type { HostSnapshot } from "./host-snapshot.ts";

let before: HostSnapshot;

export async function setup(): Promise<void> {
  before = await snapshotHost();
}

export async function teardown(): Promise<void> {
  // Processes are checked through their cgroups here (a leftover cgroup is a leak), and each test
  // file checks its own process for zombie children (test/support/supervisor.ts).
  const leaked = newSince(before, await snapshotHost());
  const total = leaked.netns.length + leaked.cgroups.length + leaked.mounts.length;
  if (total === 0) {
    console.log("Leak check: the suite left no process, mount, network namespace or cgroup behind");
    return;
  }
  // vitest reports an error thrown here but still exits 0: the exit code must say it too.
  process.exitCode = 1;
  throw new Error(`Leak check: the suite left ${total} thing(s) behind: ${JSON.stringify(leaked)}`);
}

/**
 * vitest global setup: the suite ends by checking that no process, mount, network namespace or
 * cgroup it made is left. It compares the host before and after the whole run, so a daemon
 * running on the machine for real is never mistaken for a leak.
 */
import { execa } from "execa";
import { newSince, snapshotHost } from "./host-snapshot.ts";
import type { HostSnapshot } from "./host-snapshot.ts";

let before: HostSnapshot;

export async function setup(): Promise<void> {
  before = await snapshotHost();
}

export async function teardown(): Promise<void> {
  const leaked = newSince(before, await snapshotHost());
  const { stdout } = await execa("ps", ["-eo", "pid=,ppid=,stat=,comm="]);
  const zombies = stdout.split("\n").filter((line) => /^\s*\d+\s+\d+\s+Z/.test(line) && line.includes(` ${process.pid} `));
  const total = leaked.netns.length + leaked.cgroups.length + leaked.mounts.length + zombies.length;
  if (total === 0) {
    console.log("Leak check: the suite left no process, mount, network namespace or cgroup behind");
    return;
  }
  throw new Error(`Leak check: the suite left ${total} thing(s) behind: ${JSON.stringify({ ...leaked, zombies })}`);
}

/**
 * vitest global setup: the suite ends by checking that no mount, network namespace or cgroup
 * (and so no process in one), and no conmon, *this run* made is left. Each run has an id and a folder of its own
 * (`test-run.ts`); the daemons' roots lie in the folder, and the names a daemon derives from its root
 * (`pv-<tag>-…`, `podvisor-<tag>`) are found from the roots seen made there. So a second test run on
 * the same host, or a daemon running on it for real, is never mistaken for a leak.
 */
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { customAlphabet } from "nanoid";
import { snapshotRun } from "./host-snapshot.ts";

const runId = customAlphabet("abcdefghijklmnopqrstuvwxyz0123456789", 6)();
const dir = `/tmp/pvtest-${runId}`;
const roots = new Set<string>();
let watcher: FSWatcher | undefined;

export async function setup(): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
  // Test processes start after this: they inherit both.
  process.env.PVTEST_RUN = runId;
  process.env.TMPDIR = dir;
  // A root may be made and removed within a test: every name seen made in the folder is kept.
  watcher = watch(dir, (_event, name) => {
    if (name !== null) roots.add(join(dir, String(name)));
  });
}

export async function teardown(): Promise<void> {
  watcher?.close();
  for (const name of await readdir(dir)) roots.add(join(dir, name));
  // Processes are checked through their cgroups here (a leftover cgroup is a leak), conmon by its
  // command line (it outlives its cgroup), and each test file checks its own process for zombie
  // children (test/support/supervisor.ts).
  const leaked = await snapshotRun({ prefix: `pvtest-${runId}-`, dir, roots });
  const total = leaked.netns.length + leaked.cgroups.length + leaked.mounts.length + leaked.conmon.length;
  if (total === 0) {
    await rm(dir, { recursive: true, force: true });
    console.log(`Leak check (run ${runId}): the suite left no process, mount, network namespace, cgroup or conmon behind`);
    return;
  }
  // vitest reports an error thrown here but still exits 0: the exit code must say it too.
  process.exitCode = 1;
  throw new Error(`Leak check (run ${runId}): the suite left ${total} thing(s) behind: ${JSON.stringify(leaked)}`);
}

/**
 * The timed part of the raw floor: the host work of stopping every sandbox at once, with no daemon
 * and as few processes as the stock tools allow.
 */
import { rmdirSync } from "node:fs";
import { findCgroup2Mount, killCgroup } from "../../src/host/cgroup.ts";
import { waitForCgroupEmpty } from "../../src/host/cgroup-wait.ts";
import { removeNetnsBatch } from "../../src/host/netns-remove.ts";
import { unmountMany } from "../../src/host/unmount.ts";
import type { FloorHost } from "./floor-setup.ts";
import { unmountWithSyscalls } from "./floor-unmount.ts";

/** How long the processes get to vanish after `cgroup.kill` (SIGKILL cannot be ignored). */
const killGraceMs = 10_000;
/** What `unmountMany` gives one `umount` process (src/host/unmount.ts), to count the processes. */
const umountArgvBudgetBytes = 256 * 1024;

/** The floor's teardown: total, per phase, and how many helper processes it ran. */
export interface FloorTeardown {
  teardownMs: number;
  phases: Record<string, number>;
  processes: number;
}

/**
 * Stops everything `host` holds, phase by phase, each timed:
 * - `signal`: SIGTERM to every container's main process (`process.kill`);
 * - `wait-exit`: until the top cgroup is empty (it holds every container's cgroup, all signalled at
 *   the same instant, so their deadlines are one), or `timeoutMs`;
 * - `kill` (only if needed): one write to the top cgroup's `cgroup.kill`, which kills every process
 *   in every cgroup below, then wait until empty;
 * - `unmount`: every shm and rootfs with one `umount` (unmountMany), or with `unmountWith:
 *   "syscalls"` one umount2(2) call each from a single process (floor-unmount.ts says why);
 * - `netns-removal`: every namespace with one `ip -batch` (removeNetnsBatch);
 * - `cgroup-removal`: `rmdir` of every cgroup, deepest first, with synchronous calls (the kernel
 *   removes cgroups one at a time under one lock: 5,000 took ~130–180 ms here, sync or async alike).
 * Throws if a step leaves something behind.
 *
 * @example
 * const { teardownMs, phases } = await tearDownFloor(host, { timeoutMs: 2_000, root });
 */
export async function tearDownFloor(
  host: FloorHost,
  options: { timeoutMs: number; root: string; unmountWith?: "umount" | "syscalls" },
): Promise<FloorTeardown> {
  const syscalls = options.unmountWith === "syscalls";
  const phases: Record<string, number> = {};
  const timed = async <T>(name: string, step: () => Promise<T> | T): Promise<T> => {
    const startedAt = performance.now();
    try {
      return await step();
    } finally {
      phases[name] = performance.now() - startedAt;
    }
  };
  const startedAt = performance.now();
  await timed("signal", () => {
    for (const { pid } of host.containers) signal(pid);
  });
  const exited = await timed("wait-exit", () =>
    waitForCgroupEmpty(host.top, { signal: AbortSignal.timeout(options.timeoutMs) }).then(
      () => true,
      (error: unknown) => {
        if ((error as Error | undefined)?.name === "TimeoutError") return false;
        throw error;
      },
    ),
  );
  if (!exited) {
    await timed("kill", async () => {
      await killCgroup(host.top);
      await waitForCgroupEmpty(host.top, { signal: AbortSignal.timeout(killGraceMs) });
    });
  }
  await timed("unmount", async () => {
    if (syscalls) {
      const { stillMounted, stderr } = await unmountWithSyscalls(host.mounts);
      if (stillMounted.length > 0) throw new Error(`Cannot tear down the floor: ${stillMounted.length} mounts left: ${stderr.trim()}`);
      return;
    }
    const { refused, failed } = await unmountMany(host.mounts, { root: options.root });
    const problem = refused[0] ?? failed[0];
    if (problem !== undefined) throw new Error(`Cannot tear down the floor: ${refused.length + failed.length} mounts left`, { cause: problem.error });
  });
  await timed("netns-removal", async () => {
    const { failed } = await removeNetnsBatch(host.netnsNames);
    if (failed[0] !== undefined) throw new Error(`Cannot tear down the floor: ${failed.length} namespaces left`, { cause: failed[0].error });
  });
  const mount = await findCgroup2Mount();
  await timed("cgroup-removal", () => {
    for (const { cgroup } of host.containers) rmdirSync(`${mount}/${cgroup}`);
    for (const cgroup of host.sandboxCgroups) rmdirSync(`${mount}/${cgroup}`);
    rmdirSync(`${mount}/${host.top}`);
  });
  return { teardownMs: performance.now() - startedAt, phases, processes: countProcesses(host, syscalls) };
}

/** SIGTERM; a process already gone is fine. */
function signal(pid: number): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** The helper processes the teardown ran: one `umount` per argv-sized chunk (or one `perl`), one `ip`. */
function countProcesses(host: FloorHost, syscalls: boolean): number {
  if (syscalls) return (host.mounts.length > 0 ? 1 : 0) + (host.netnsNames.length > 0 ? 1 : 0);
  const bytes = host.mounts.reduce((sum, path) => sum + path.length + 1, 0);
  const umounts = host.mounts.length === 0 ? 0 : Math.ceil(bytes / umountArgvBudgetBytes);
  return umounts + (host.netnsNames.length > 0 ? 1 : 0);
}

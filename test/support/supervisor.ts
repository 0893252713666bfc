import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { Supervisor } from "../../supervisor/supervisor.ts";
import type { SupervisorOptions } from "../../supervisor/supervisor.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import type { HostLeftovers } from "../../src/host/leftovers.ts";

/** A supervisor on a fresh root under /tmp, and the means to tear it down and check for leaks. */
export interface TestSupervisor {
  supervisor: Supervisor;
  root: string;
  /** Stops every sandbox, shuts down, and returns what was left on the host (should be nothing). */
  close(): Promise<HostLeftovers>;
}

export async function startTestSupervisor(options: Partial<SupervisorOptions> = {}): Promise<TestSupervisor> {
  const root = options.root ?? (await mkdtemp(join(tmpdir(), "pvtest-")));
  const supervisor = await Supervisor.start({ workers: 2, killGraceMs: 2_000, ...options, root });
  return {
    supervisor,
    root,
    async close() {
      const pids = supervisor.listContainers().map((container) => container.pid).filter((pid) => pid !== undefined);
      await supervisor.shutdown({ stopAll: true, timeoutMs: 2_000 });
      const leftovers = await findHostLeftovers({ root: supervisor.root, tag: supervisor.tag });
      leftovers.pids.push(...pids.filter(isAlive));
      if (leftovers.mounts.length === 0) await rm(root, { recursive: true, force: true });
      return leftovers;
    },
  };
}

export const noLeftovers: HostLeftovers = { netns: [], mounts: [], cgroups: [], pids: [] };

/**
 * Whether a process still runs. A zombie does not: the kill reached it, and an orphan's zombie
 * waits for the host's init to reap it, which is outside podvisor's reach.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Zombie children of this process (there should be none). */
export async function zombieChildren(): Promise<string[]> {
  // A zombie the runtime reaps a moment later (a process holder let go at shutdown ends once its last
  // child has) does not accumulate: only one that stays for 3 s is reported.
  const giveUpAt = Date.now() + 3_000;
  for (;;) {
    const { stdout } = await execa("ps", ["-o", "pid=,stat=,comm=", "--ppid", String(process.pid)], { reject: false });
    const zombies = stdout.split("\n").filter((line) => /^\s*\d+\s+Z/.test(line));
    if (zombies.length === 0 || Date.now() >= giveUpAt) return zombies;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until `check` is true, polling; fails after `timeoutMs`. For states with no event to wait on. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadlineAt = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadlineAt) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A container that ignores SIGTERM; it says "ready" once its trap is set, and {@link runTestPod} waits for that. */
export const ignoresTermCommand = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"];

/**
 * Runs a sandbox with one started container per command; waits until each command that says
 * "ready" (as {@link ignoresTermCommand} does) has said it, so that a test never signals it before.
 */
export async function runTestPod(t: TestSupervisor, commands: string[][], config: Record<string, unknown> = {}): Promise<{ id: string; containers: string[] }> {
  const id = await t.supervisor.runPodSandbox({ name: "test", ...config });
  const containers: string[] = [];
  for (const [index, command] of commands.entries()) {
    const containerId = await t.supervisor.createContainer(id, { name: `c${index}`, command });
    await t.supervisor.startContainer(containerId);
    containers.push(containerId);
  }
  for (const [index, containerId] of containers.entries()) {
    if (!commands[index].join(" ").includes("echo ready")) continue;
    const log = join(t.root, "sandboxes", id, "containers", containerId, "container.log");
    await waitUntil(() => readFileSync(log, "utf8").includes("ready"));
  }
  return { id, containers };
}

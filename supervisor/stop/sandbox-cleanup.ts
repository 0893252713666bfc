import { existsSync } from "node:fs";
import { join } from "node:path";
import { CodedError } from "../../src/actor-system/index.ts";
import type { SandboxRecord, StopPhase } from "../../src/state/records.ts";
import type { SupervisorContext } from "../context.ts";
import { stopStepFailed } from "../../src/errors/stop-incomplete-error.ts";

/** Done; skipped, and why (recorded, never faked); or done as far as it could, with a warning. */
export type StepResult = "done" | `skipped: ${string}` | `warning: ${string}`;

interface Step {
  name: string;
  /** The journal phase reached once this step is done, if it ends one. */
  phase?: StopPhase;
  run(context: SupervisorContext, record: SandboxRecord): Promise<StepResult>;
}

/**
 * The host cleanup of one stopped sandbox, in CRI-O's order. Every step is idempotent ("already
 * gone" is done), timed, and journaled, so a failed stop can simply be retried.
 */
const steps: Step[] = [
  // As in the reference, a rootfs that cannot be unmounted is a warning, not a failed stop. It is
  // not forgotten: the stop's result says which, nothing owns the mount any more, so the leak check
  // removes it, and RemovePodSandbox unmounts it again before it deletes anything (and fails, to be
  // retried, if it still cannot).
  { name: "storage-unmount", phase: "storage-unmounted", run: unmountContainerStorage },
  { name: "network-teardown", phase: "network-down", run: teardownNetwork },
  { name: "netns-removal", phase: "netns-removed", run: removeNamespace },
  { name: "selinux-label-release", run: releaseLabel },
  { name: "shm-unmount", phase: "shm-unmounted", run: unmountSandboxShm },
  { name: "sandbox-storage-stop", run: async () => "skipped: the sandbox has no storage of its own beyond its directory" },
  { name: "cgroup-removal", run: removeSandboxCgroup },
];

export interface CleanupReport {
  phases: Record<string, number>;
  /** Steps not done, and why. */
  skipped: Record<string, string>;
  warnings: string[];
}

/** Steps begun before the cleanup, by name: the cleanup awaits them in their turn (and times only that wait). */
export type BegunSteps = Partial<Record<string, Promise<StepResult>>>;

export async function cleanupSandboxHost(
  context: SupervisorContext,
  record: SandboxRecord,
  journal: (phase: StopPhase) => Promise<void>,
  begun: BegunSteps = {},
): Promise<CleanupReport> {
  const report: CleanupReport = { phases: {}, skipped: {}, warnings: [] };
  for (const step of steps) {
    const startedAt = performance.now();
    try {
      const result = await (begun[step.name] ?? step.run(context, record));
      if (result.startsWith("skipped: ")) report.skipped[step.name] = result.slice("skipped: ".length);
      if (result.startsWith("warning: ")) report.warnings.push(`${step.name}: ${result.slice("warning: ".length)}`);
    } catch (error) {
      // Any failure fails the stop and leaves the sandbox not-stopped; every step is idempotent, so
      // the caller retries the stop.
      throw stopStepFailed(`pod sandbox ${record.id}`, step.name, error, { podSandboxId: record.id });
    }
    report.phases[step.name] = performance.now() - startedAt;
    if (step.phase !== undefined) await journal(step.phase);
  }
  return report;
}

/**
 * The first step, begun on its own: the reference unmounts each application container's storage as
 * soon as the container has stopped, before it stops the infra container. Never rejects (a failure
 * is a warning).
 */
export async function unmountContainerStorage(context: SupervisorContext, record: SandboxRecord): Promise<StepResult> {
  const merged = containerRootfsMounts(context, record);
  if (merged.length === 0) return "skipped: no container has a rootfs";
  try {
    await unmountContainerRootfs(context, merged);
  } catch (error) {
    return `warning: ${(error as Error).message}; the leak check and RemovePodSandbox retry it`;
  }
  return "done";
}

/** Where the sandbox's containers' overlays are mounted (those that have a rootfs). */
export function containerRootfsMounts(context: SupervisorContext, record: SandboxRecord): string[] {
  return context.store.containersOf(record.id)
    .filter((container) => !container.infra && container.rootfs !== undefined)
    .map((container) => join(container.dir, "merged"));
}

/** Unmounts every path given (already unmounted is done); rejects saying how many could not be, and why. */
export async function unmountContainerRootfs(context: SupervisorContext, paths: string[]): Promise<void> {
  const outcomes = await Promise.allSettled(paths.map((path) => context.hostWork.unmount.run(path)));
  const problems = outcomes.filter((outcome) => outcome.status === "rejected");
  if (problems.length === 0) return;
  const first = (problems[0] as PromiseRejectedResult).reason as Error & { code?: string };
  throw new CodedError(first.code ?? "INTERNAL", `${problems.length} rootfs could not be unmounted: ${first.message}`, { cause: first });
}

async function releaseLabel(): Promise<StepResult> {
  // podvisor takes no SELinux (MCS) label when it runs a sandbox, so there is none to release.
  return existsSync("/sys/fs/selinux/enforce")
    ? "skipped: podvisor takes no SELinux label yet (SELinux is enabled here)"
    : "skipped: SELinux is not enabled on this host; no label was taken";
}

async function teardownNetwork(context: SupervisorContext, record: SandboxRecord): Promise<StepResult> {
  if (record.hostNetwork) return "skipped: the sandbox uses the host network";
  if (record.network === undefined) return "skipped: network \"none\" has nothing beyond loopback, removed with the namespace";
  if (context.network === undefined) {
    throw new CodedError("FAILED_PRECONDITION", `Cannot delete network ${record.network.name}: this daemon runs without CNI (no --cni-bin-dir)`);
  }
  // DEL with the configuration and result the ADD stored, even if the namespace is gone already.
  // The stop's deadline bounds it, but the host cleanup runs after the kill at that deadline, so
  // each plugin gets at least its own timeout from when it starts (pod-network.ts).
  await context.network.detach(record.network, record.netnsPath ?? "", { deadlineAt: context.deadlines.get(record.id) });
  return "done";
}

async function removeNamespace(context: SupervisorContext, record: SandboxRecord): Promise<StepResult> {
  if (record.netnsName === undefined) return "skipped: the sandbox uses the host network";
  await context.hostWork.netnsRemoval.run(record.netnsName);
  return "done";
}

async function removeSandboxCgroup(context: SupervisorContext, record: SandboxRecord): Promise<StepResult> {
  const containers = context.store.containersOf(record.id).map((container) => container.cgroupPath);
  await context.hostWork.removeCgroup(record.cgroupPath, containers.filter((path) => path.startsWith(`${record.cgroupPath}/`)));
  return "done";
}

async function unmountSandboxShm(context: SupervisorContext, record: SandboxRecord): Promise<StepResult> {
  if (record.shmPath === undefined) return "skipped: the sandbox uses the host IPC namespace";
  await context.hostWork.unmount.run(record.shmPath);
  return "done";
}

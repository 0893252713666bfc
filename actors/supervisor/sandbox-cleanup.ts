import { existsSync } from "node:fs";
import { join } from "node:path";
import { CodedError } from "../../src/actor-system/index.ts";
import type { SandboxRecord, StopPhase } from "../../src/state/records.ts";
import type { SupervisorContext } from "./context.ts";
import { stopStepFailed } from "./stop-incomplete-error.ts";

type StepResult = "done" | `skipped: ${string}`;

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
  // Not best-effort: an overlay that cannot be unmounted pins the container's upper layer and the
  // client's image under a mount nobody owns any more, and the sandbox's directory cannot be
  // removed while it is there. A sandbox recorded "stopped" over it would claim a clean host; a
  // failed stop says what is wrong, and its retry (the step is idempotent) finishes the job.
  { name: "storage-unmount", phase: "storage-unmounted", run: unmountContainerStorage },
  { name: "network-teardown", phase: "network-down", run: teardownNetwork },
  { name: "netns-removal", phase: "netns-removed", run: removeNamespace },
  { name: "selinux-label-release", run: releaseLabel },
  { name: "shm-unmount", phase: "shm-unmounted", run: unmountSandboxShm },
  { name: "sandbox-storage-stop", run: async () => "skipped: the sandbox has no storage of its own beyond its directory" },
  { name: "cgroup-removal", run: async (context, record) => (await context.hostWork.removeCgroup(record.cgroupPath), "done") },
];

export interface CleanupReport {
  phases: Record<string, number>;
  skipped: Record<string, string>;
}

export async function cleanupSandboxHost(
  context: SupervisorContext,
  record: SandboxRecord,
  journal: (phase: StopPhase) => Promise<void>,
): Promise<CleanupReport> {
  const report: CleanupReport = { phases: {}, skipped: {} };
  for (const step of steps) {
    const startedAt = performance.now();
    try {
      const result = await step.run(context, record);
      if (result !== "done") report.skipped[step.name] = result.slice("skipped: ".length);
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

async function unmountContainerStorage(context: SupervisorContext, record: SandboxRecord): Promise<StepResult> {
  const merged = context.store.containersOf(record.id)
    .filter((container) => !container.infra && container.rootfs !== undefined)
    .map((container) => join(container.dir, "merged"));
  if (merged.length === 0) return "skipped: no container has a rootfs";
  const outcomes = await Promise.allSettled(merged.map((path) => context.hostWork.unmount.run(path)));
  const problems = outcomes.filter((outcome) => outcome.status === "rejected");
  if (problems.length > 0) {
    const first = (problems[0] as PromiseRejectedResult).reason as Error & { code?: string };
    throw new CodedError(first.code ?? "INTERNAL", `${problems.length} rootfs could not be unmounted: ${first.message}`, { cause: first });
  }
  return "done";
}

async function releaseLabel(): Promise<StepResult> {
  // podvisor takes no SELinux (MCS) label when it runs a sandbox, so there is none to release.
  return existsSync("/sys/fs/selinux/enforce")
    ? "skipped: podvisor takes no SELinux label yet (SELinux is enabled here)"
    : "skipped: SELinux is not enabled on this host; no label was taken";
}

async function teardownNetwork(_context: SupervisorContext, record: SandboxRecord): Promise<StepResult> {
  if (record.hostNetwork) return "skipped: the sandbox uses the host network";
  // The only network podvisor sets up is "none": loopback inside the namespace, which goes with it.
  // CNI plugins (a later issue) will be called here with DEL, even when the namespace is gone.
  return "skipped: network \"none\" has nothing beyond loopback, removed with the namespace";
}

async function removeNamespace(context: SupervisorContext, record: SandboxRecord): Promise<StepResult> {
  if (record.netnsName === undefined) return "skipped: the sandbox uses the host network";
  await context.hostWork.netnsRemoval.run(record.netnsName);
  return "done";
}

async function unmountSandboxShm(context: SupervisorContext, record: SandboxRecord): Promise<StepResult> {
  if (record.shmPath === undefined) return "skipped: the sandbox uses the host IPC namespace";
  await context.hostWork.unmount.run(record.shmPath);
  return "done";
}

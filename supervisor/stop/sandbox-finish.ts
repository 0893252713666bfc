import { getLogger } from "../../src/log/logger.ts";
import type { ContainerRecord, SandboxRecord } from "../../src/state/records.ts";
import { StopIncompleteError, stopStepFailed } from "../../src/errors/stop-incomplete-error.ts";
import type { ContainersStopped } from "./containers-stop.ts";
import type { StopOptions, StopOutcome, SupervisorContext } from "../context.ts";
import { cleanupSandboxHost } from "./sandbox-cleanup.ts";
import type { BegunSteps } from "./sandbox-cleanup.ts";
import { journal } from "./stop-journal.ts";

const log = getLogger("supervisor:stop");

/** How a sandbox's containers were stopped: how long it took, from when, and when each would be killed. */
export interface ContainersTiming {
  durationMs: number;
  startedAtEpoch: number;
  killAt(container: ContainerRecord): number;
}

/**
 * A sandbox's stop once its containers are settled: any container error fails it (not-stopped, for a
 * retry); otherwise the host cleanup in order (awaiting the steps `begun` already), then "stopped",
 * durable, then the metrics and the log.
 */
export async function finishSandbox(context: SupervisorContext, record: SandboxRecord, results: ContainersStopped[], timing: ContainersTiming, startedAt: number, options: StopOptions, begun?: BegunSteps): Promise<StopOutcome> {
  const errors = results.flatMap((result) => result.errors.get(record.id) ?? []);
  if (errors.length > 0) throw new StopIncompleteError(record.id, errors);
  // The containers' own records (durable, each written before its acknowledgement) already say they
  // stopped; the sandbox's phase reaches the disk with "stopped".
  await journal(context, record, "containers-stopped", options, { memoryOnly: true });
  // The host steps are idempotent: their phases are kept in memory (status shows them) and reach
  // the disk with the next durable write; a crash between only redoes them.
  const cleanup = await cleanupSandboxHost(context, record, (phase) => journal(context, record, phase, options, { memoryOnly: true }), begun);
  // "stopped" reaches memory only once it is on disk: a write that fails (the disk is full) leaves
  // the sandbox not-stopped, as its status says, and a retry redoes the idempotent steps and writes it.
  const stopped: SandboxRecord = { ...record, state: "stopped", stoppedAt: context.clock.now() };
  await journal(context, stopped, "stopped", options, { skipped: cleanup.skipped }).catch((error: unknown) => {
    throw stopStepFailed(`pod sandbox ${record.id}`, "sandbox-record-write", error, { podSandboxId: record.id });
  });
  context.store.sandboxes.set(record.id, Object.assign(record, stopped));
  const durationMs = performance.now() - startedAt;
  const phases = { "containers-stop": timing.durationMs, ...containerPhases(context, record, timing), ...cleanup.phases, total: durationMs };
  context.metrics.observePhases(phases);
  const warnings = [...results.flatMap((result) => result.warnings.get(record.id) ?? []), ...cleanup.warnings];
  if (cleanup.warnings.length > 0) log.warn("Stopped pod sandbox with warnings", { sandboxId: record.id, warnings: cleanup.warnings });
  log.info("Stopped pod sandbox", { sandboxId: record.id, durationMs: Math.round(durationMs), warnings: warnings.length, skipped: cleanup.skipped });
  return { podSandboxId: record.id, durationMs, phases, skipped: cleanup.skipped, warnings };
}

/**
 * The two parts of a sandbox's containers-stop: `signal-to-exit`, from the stop's start to the last
 * exit its stop signal brought; `kill`, from the kill at the deadline to the last exit it brought
 * (absent when no container needed it). From the exits' times in the containers' records.
 */
function containerPhases(context: SupervisorContext, record: SandboxRecord, timing: ContainersTiming): Record<string, number> {
  const phases: Record<string, number> = {};
  for (const container of context.store.containersOf(record.id)) {
    if (container.finishedAt === undefined || container.finishedAt < timing.startedAtEpoch) continue; // ended before this stop
    const [phase, from] = container.reason === "killed-at-deadline" ? ["kill", timing.killAt(container)] : ["signal-to-exit", timing.startedAtEpoch];
    phases[phase] = Math.max(phases[phase] ?? 0, container.finishedAt - from);
  }
  return phases;
}


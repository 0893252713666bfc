import { getLogger } from "../../src/log/logger.ts";
import type { SandboxRecord, StopPhase } from "../../src/state/records.ts";
import { stopContainers } from "./containers-stop.ts";
import type { StopOptions, StopOutcome, SupervisorContext } from "./context.ts";
import { resolveDeadline } from "./context.ts";
import { validateId } from "./ids.ts";
import { cleanupSandboxHost } from "./sandbox-cleanup.ts";
import { StopIncompleteError } from "./stop-incomplete-error.ts";

const log = getLogger("supervisor:stop");

/** The share of a stop's budget kept for the infra container, which stops last: at most 1 s. */
const infraReserveMs = 1_000;
const infraReserveShare = 0.25;

/**
 * Stops a pod sandbox (CRI `StopPodSandbox`). Unknown id: success with a warning. Stopped
 * already: success, no host work. A stop in progress is joined, and the earlier deadline wins.
 */
export async function stopPodSandbox(context: SupervisorContext, id: string, options: StopOptions = {}): Promise<StopOutcome> {
  validateId(id, "pod sandbox");
  const deadlineAt = resolveDeadline(options);
  const record = context.store.sandboxes.get(id);
  if (record === undefined) {
    log.warn("Pod sandbox not found; probably stopped already", { sandboxId: id });
    return { podSandboxId: id, durationMs: 0, phases: {}, warnings: [`pod sandbox ${id} not found: probably stopped already`] };
  }
  if (record.state === "stopped") return { podSandboxId: id, durationMs: 0, phases: {}, warnings: [] };
  context.deadlines.lower(id, deadlineAt);
  const inFlight = context.stopsInFlight.get(id);
  if (inFlight !== undefined) return inFlight;
  const stop = runStop(context, record, options.onProgress).finally(() => {
    context.stopsInFlight.delete(id);
    context.deadlines.clear(id);
  });
  context.stopsInFlight.set(id, stop);
  return stop;
}

async function runStop(context: SupervisorContext, record: SandboxRecord, onProgress: StopOptions["onProgress"]): Promise<StopOutcome> {
  const startedAt = performance.now();
  const deadlineAt = () => context.deadlines.get(record.id) ?? Date.now();
  const journal = async (phase: StopPhase) => {
    record.stop = { phase, deadlineAt: deadlineAt(), requestedAt: record.stop?.requestedAt ?? Date.now() };
    await context.store.saveSandbox(record);
    onProgress?.({ podSandboxId: record.id, phase });
  };
  log.info("Stopping pod sandbox", { sandboxId: record.id, deadlineAt: deadlineAt() });
  await journal("requested");
  const containers = context.store.containersOf(record.id);
  const reserve = Math.min(infraReserveMs, Math.max(0, deadlineAt() - Date.now()) * infraReserveShare);
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const application = await stopContainers(context, containers.filter((c) => !c.infra), deadlineAt() - reserve);
  const infra = await stopContainers(context, containers.filter((c) => c.infra), deadlineAt());
  phases["containers-stop"] = performance.now() - mark;
  const errors = [...application.errors, ...infra.errors];
  if (errors.length > 0) {
    throw new StopIncompleteError(record.id, errors);
  }
  await journal("containers-stopped");
  mark = performance.now();
  const cleanup = await cleanupSandboxHost(context, record, journal);
  Object.assign(phases, cleanup.phases);
  record.state = "stopped";
  record.stoppedAt = Date.now();
  await journal("stopped");
  const durationMs = performance.now() - startedAt;
  const warnings = [...application.warnings, ...infra.warnings, ...cleanup.warnings];
  context.metrics.observePhases({ ...phases, total: durationMs });
  log.info("Stopped pod sandbox", { sandboxId: record.id, durationMs: Math.round(durationMs), warnings: warnings.length });
  return { podSandboxId: record.id, durationMs, phases: { ...phases, total: durationMs }, warnings };
}


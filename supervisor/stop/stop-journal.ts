import type { SandboxRecord, StopPhase } from "../../src/state/records.ts";
import type { StopOptions, SupervisorContext } from "../context.ts";

/**
 * Journals the phase a stop has reached, with its absolute deadline, before going on: durably for
 * "stopped" ("requested" is in the batch's intent entry, and each container's record says it
 * stopped), in memory for the idempotent steps between, which a restart would redo.
 */
export async function journal(context: SupervisorContext, record: SandboxRecord, phase: StopPhase, options: StopOptions, write: { memoryOnly?: boolean; skipped?: Record<string, string> } = {}): Promise<void> {
  record.stop = { phase, deadlineAt: context.deadlines.get(record.id) ?? context.clock.now(), requestedAt: record.stop?.requestedAt ?? context.clock.now() };
  if (write.skipped !== undefined) record.stop.skipped = write.skipped;
  if (phase === "requested") record.stop.requestedAt = context.clock.now();
  if (write.memoryOnly) context.store.touchSandbox(record);
  else await context.store.saveSandbox(record);
  options.onProgress?.({ podSandboxId: record.id, phase });
}


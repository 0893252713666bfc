import { getLogger } from "../../src/log/logger.ts";
import type { StopOptions, StopOutcome, SupervisorContext } from "../context.ts";
import { resolveDeadline } from "../context.ts";
import { validateId } from "../../src/state/ids.ts";
import { startStops } from "./stop-run.ts";

const log = getLogger("supervisor:stop");

/**
 * Stops a pod sandbox (CRI `StopPodSandbox`). Unknown id: success with a warning. Stopped
 * already: success, no host work. A stop in progress is joined, and the earlier deadline wins.
 */
export async function stopPodSandbox(context: SupervisorContext, id: string, options: StopOptions = {}): Promise<StopOutcome> {
  validateId(id, "pod sandbox");
  const deadlineAt = resolveDeadline(options, context.clock.now());
  const record = context.store.sandboxes.get(id);
  if (record === undefined) {
    log.warn("Pod sandbox not found; probably stopped already", { sandboxId: id });
    return { podSandboxId: id, durationMs: 0, phases: {}, skipped: {}, warnings: [`pod sandbox ${id} not found: probably stopped already`] };
  }
  if (record.state === "stopped") return { podSandboxId: id, durationMs: 0, phases: {}, skipped: {}, warnings: [] };
  log.info("Stopping pod sandbox", { sandboxId: id, deadlineAt });
  return startStops(context, [record], deadlineAt, options).get(id) as Promise<StopOutcome>;
}

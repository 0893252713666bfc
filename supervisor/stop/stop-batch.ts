import { toErrorData } from "../../src/actor-system/index.ts";
import type { SandboxStopResult } from "../../src/api/api-types.ts";
import type { BatchStopOptions } from "../../src/api/pod-service.ts";
import { getLogger } from "../../src/log/logger.ts";
import type { SandboxRecord } from "../../src/state/records.ts";
import type { SupervisorContext } from "../context.ts";
import { resolveDeadline } from "../context.ts";
import { validateId } from "../../src/state/ids.ts";
import { startStops } from "./stop-run.ts";

const log = getLogger("supervisor:stop");

/** One sandbox's outcome (the API's `SandboxStopResult`). */
export type StopAllResult = SandboxStopResult;

export type { BatchStopOptions };

/**
 * Stops many sandboxes under one absolute deadline (`StopPodSandboxes`), or all of them: every
 * stop signal at once, every kill at the deadline, then each one's host cleanup. Reports each
 * sandbox's outcome; `onDone` hears of each as it finishes (for progress).
 */
export async function stopPodSandboxes(
  context: SupervisorContext,
  target: { ids: string[] } | { all: true },
  options: BatchStopOptions = {},
): Promise<StopAllResult[]> {
  const deadlineAt = resolveDeadline(options, context.clock.now());
  const ids = "all" in target
    ? [...context.store.sandboxes.values()].filter((record) => record.state !== "stopped").map((record) => record.id)
    : [...new Set(target.ids)];
  for (const id of ids) validateId(id, "pod sandbox");
  const records = ids.map((id) => context.store.sandboxes.get(id)).filter((r): r is SandboxRecord => r !== undefined && r.state !== "stopped");
  log.info("Stopping pod sandboxes", { count: records.length, deadlineAt });
  options.onStart?.(ids.length);
  const stops = startStops(context, records, deadlineAt, options);
  const startedAt = performance.now();
  return Promise.all(ids.map(async (id): Promise<StopAllResult> => {
    const stop = stops.get(id);
    let result: StopAllResult;
    if (stop === undefined) {
      const known = context.store.sandboxes.has(id);
      result = { podSandboxId: id, ok: true, durationMs: 0, phases: {}, skipped: {}, warnings: known ? [] : [`pod sandbox ${id} not found: probably stopped already`] };
    } else {
      try {
        const outcome = await stop;
        result = { podSandboxId: id, ok: true, durationMs: outcome.durationMs, phases: outcome.phases, skipped: outcome.skipped, warnings: outcome.warnings };
      } catch (error) {
        result = { podSandboxId: id, ok: false, error: toErrorData(error), durationMs: performance.now() - startedAt, phases: {} };
      }
    }
    options.onDone?.(result);
    return result;
  }));
}

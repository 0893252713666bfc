import type { StopOptions, SupervisorContext } from "./context.ts";
import { resolveDeadline } from "./context.ts";
import { stopPodSandbox } from "./sandbox-stop.ts";
import { toErrorData } from "../../src/actor-system/index.ts";
import type { ErrorData } from "../../src/actor-system/index.ts";

export interface StopAllResult {
  podSandboxId: string;
  ok: boolean;
  error?: ErrorData;
  durationMs: number;
  phases: Record<string, number>;
}

/**
 * Stops every sandbox that is not stopped, all in parallel under one absolute deadline, and
 * reports each one's outcome (the reference stopped them one after another).
 */
export async function stopAllPodSandboxes(context: SupervisorContext, options: StopOptions = {}): Promise<StopAllResult[]> {
  const deadlineAt = resolveDeadline(options);
  const ids = [...context.store.sandboxes.values()].filter((record) => record.state !== "stopped").map((record) => record.id);
  return Promise.all(ids.map(async (id): Promise<StopAllResult> => {
    const startedAt = performance.now();
    try {
      const outcome = await stopPodSandbox(context, id, { deadlineAt });
      return { podSandboxId: id, ok: true, durationMs: outcome.durationMs, phases: outcome.phases };
    } catch (error) {
      return { podSandboxId: id, ok: false, error: toErrorData(error), durationMs: performance.now() - startedAt, phases: {} };
    }
  }));
}

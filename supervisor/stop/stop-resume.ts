/**
 * Resumes the stops a crash interrupted. Each stop journals its intent — which sandboxes, and the
 * absolute deadline — durably before any signal goes out (`<root>/stops/*.json`, see
 * `StateStore.journalStopIntent`; stops asked for together share a file), and deletes it once every
 * sandbox of it is done. An entry found at start is a stop that never finished: it is started again
 * under its ORIGINAL deadline, so a container whose deadline passed while the daemon was down is
 * killed at once, and one with time left gets only what is left — never the whole grace period again.
 *
 * Where it resumes: each container's record says durably whether it stopped (written before its
 * stop is acknowledged), so stopped containers are not touched again; the host steps after them
 * (unmounts, netns and cgroup removal) are idempotent and are simply redone; "stopped" is durable.
 */
import { getLogger } from "../../src/log/logger.ts";
import type { SupervisorContext } from "../context.ts";
import { stopPodSandboxes } from "./stop-batch.ts";
import type { StopAllResult } from "./stop-batch.ts";
import type { StopIntent } from "../../src/state/state-store.ts";

const log = getLogger("supervisor:resume");

export async function resumeStops(context: SupervisorContext): Promise<StopAllResult[]> {
  const { intents, unreadable } = await context.store.readStopIntents();
  if (unreadable.length > 0) log.error("Cannot read some stop journal entries; they are left in place", { unreadable });
  // The entries of one file (stops asked for together) are resumed each under its own deadline;
  // the file goes once all of them are done.
  const byFile = Map.groupBy(intents, (intent) => intent.path);
  const results = await Promise.all([...byFile].map(async ([path, entries]) => {
    const results = await Promise.all(entries.map((intent) => resumeStop(context, intent)));
    // Each resumed stop journaled its own intent; this file is done with, whatever the outcome
    // (a sandbox whose stop failed stays not-stopped, for its client to retry, as after any failure).
    await context.store.forgetStopIntent(path);
    return results.flat();
  }));
  return results.flat();
}

async function resumeStop(context: SupervisorContext, intent: StopIntent): Promise<StopAllResult[]> {
  const ids = intent.podSandboxIds.filter((id) => context.store.sandboxes.get(id)?.state === "ready");
  if (ids.length === 0) return [];
  const late = Math.max(0, context.clock.now() - intent.deadlineAt);
  log.warn("Resuming an interrupted stop under its original deadline", { sandboxes: ids.length, deadlineAt: intent.deadlineAt, passedByMs: late });
  context.metrics.countResumedStops(ids.length);
  return stopPodSandboxes(context, { ids }, { deadlineAt: intent.deadlineAt });
}

import type { SandboxRecord } from "../../src/state/records.ts";
import type { StopOptions, StopOutcome, SupervisorContext } from "../context.ts";
import { stopInParallel } from "./stop-parallel.ts";
import { stopSequentially } from "./stop-sequential.ts";

/**
 * Starts the stop of every sandbox given, under one absolute deadline, and returns each one's
 * promise. A sandbox whose stop is already running is joined (its deadline may only get earlier).
 * With the parallel strategy every container's stop signal goes out at once across all of them,
 * every kill happens at the deadline, then each sandbox's host cleanup runs, sequential within the
 * sandbox and overlapping across sandboxes.
 */
export function startStops(context: SupervisorContext, records: SandboxRecord[], deadlineAt: number, options: StopOptions = {}): Map<string, Promise<StopOutcome>> {
  const stops = new Map<string, Promise<StopOutcome>>();
  const fresh: SandboxRecord[] = [];
  for (const record of records) {
    context.deadlines.lower(record.id, deadlineAt);
    const inFlight = context.stopsInFlight.get(record.id);
    if (inFlight !== undefined) stops.set(record.id, inFlight);
    else fresh.push(record);
  }
  if (fresh.length === 0) return stops;
  const run = context.stopStrategy === "sequential" ? stopSequentially(context, fresh, deadlineAt, options) : stopInParallel(context, fresh, options);
  for (const record of fresh) {
    const stop = run.get(record.id) as Promise<StopOutcome>;
    const tracked = stop.finally(() => {
      context.stopsInFlight.delete(record.id);
      context.deadlines.clear(record.id);
    });
    tracked.catch(() => {}); // the caller handles it; this copy only cleans up
    context.stopsInFlight.set(record.id, tracked);
    stops.set(record.id, tracked);
  }
  return stops;
}


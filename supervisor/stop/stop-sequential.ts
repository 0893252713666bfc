import type { ContainerRecord, SandboxRecord } from "../../src/state/records.ts";
import { stopContainers } from "./containers-stop.ts";
import type { ContainersStopped } from "./containers-stop.ts";
import type { StopOptions, StopOutcome, SupervisorContext } from "../context.ts";
import { finishSandbox } from "./sandbox-finish.ts";
import { journal } from "./stop-journal.ts";

/** The reference's way, for the benchmark's baseline: one sandbox, then one container, at a time, each with the full timeout. */
export function stopSequentially(context: SupervisorContext, records: SandboxRecord[], deadlineAt: number, options: StopOptions): Map<string, Promise<StopOutcome>> {
  const timeoutMs = Math.max(0, deadlineAt - context.clock.now());
  const stops = new Map<string, Promise<StopOutcome>>();
  const intent = context.store.journalStopIntent(records.map((r) => r.id), deadlineAt);
  let previous: Promise<unknown> = intent;
  for (const record of records) {
    const stop = previous.catch(() => {}).then(async () => {
      await intent; // a stop whose intent is not on disk does not begin
      const startedAt = performance.now();
      const startedAtEpoch = context.clock.now();
      await journal(context, record, "requested", options);
      const containers = context.store.containersOf(record.id);
      const results: ContainersStopped[] = [];
      const killAts = new Map<string, number>();
      for (const container of [...containers.filter((c) => !c.infra), ...containers.filter((c) => c.infra)]) {
        // Each container gets the whole timeout, as in the reference: the sandbox's deadline moves with it.
        const containerDeadline = context.clock.now() + timeoutMs;
        context.deadlines.clear(record.id);
        context.deadlines.lower(record.id, containerDeadline);
        killAts.set(container.id, containerDeadline);
        results.push(await stopContainers(context, [container], containerDeadline));
      }
      const killAt = (container: ContainerRecord) => killAts.get(container.id) ?? context.clock.now();
      return finishSandbox(context, record, results, { durationMs: performance.now() - startedAt, startedAtEpoch, killAt }, startedAt, options);
    });
    stops.set(record.id, stop);
    previous = stop;
  }
  void Promise.allSettled(stops.values()).then(() => intent.then((done) => done(), () => {}));
  return stops;
}


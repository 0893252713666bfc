import type { ContainerRecord, SandboxRecord } from "../../src/state/records.ts";
import { stopStepFailed } from "../../src/errors/stop-incomplete-error.ts";
import { killGraceFor, stopContainers } from "./containers-stop.ts";
import type { ContainersStopped } from "./containers-stop.ts";
import type { StopOptions, StopOutcome, SupervisorContext } from "../context.ts";
import { unmountContainerStorage } from "./sandbox-cleanup.ts";
import type { BegunSteps } from "./sandbox-cleanup.ts";
import { finishSandbox } from "./sandbox-finish.ts";
import { journal } from "./stop-journal.ts";

/** The share of a stop's budget kept for the infra containers, which stop last: at most 1 s. */
const infraReserveMs = 1_000;
const infraReserveShare = 0.25;

/**
 * podvisor's stop of many sandboxes under one deadline: every application container's stop signal
 * goes out at once across all of them, every kill at the deadline minus the infra reserve; each
 * sandbox then stops its infra container and cleans its host, as soon as its own containers are settled.
 */
export function stopInParallel(context: SupervisorContext, records: SandboxRecord[], options: StopOptions): Map<string, Promise<StopOutcome>> {
  const startedAt = performance.now();
  const startedAtEpoch = context.clock.now();
  // The batch's deadline: the earliest of its sandboxes' (a joined stop may lower one meanwhile;
  // one that has finished no longer counts). Derived again only when a deadline changed: it is
  // asked for once per sandbox, and a scan each time would cost a thousand sandboxes a million reads.
  let known = { version: -1, deadlineAt: Number.POSITIVE_INFINITY };
  const deadline = () => {
    if (known.version === context.deadlines.version) return known.deadlineAt;
    const deadlineAt = records.reduce((earliest, r) => Math.min(earliest, context.deadlines.get(r.id) ?? earliest), Number.POSITIVE_INFINITY);
    known = { version: context.deadlines.version, deadlineAt };
    return deadlineAt;
  };
  const reserve = Math.min(infraReserveMs, Math.max(0, deadline() - context.clock.now()) * infraReserveShare);
  const containers = records.flatMap((record) => context.store.containersOf(record.id));
  // Every container's kill waits at most this long for the runtime's report: the whole batch's size counts.
  const killGraceMs = killGraceFor(context, containers.filter((c) => c.state === "running").length);
  const applicationKillAt = deadline() - reserve;
  const killAt = (container: ContainerRecord) => (container.infra ? deadline() : applicationKillAt);
  // Each sandbox goes on to its infra container, then to its host cleanup, as soon as its own
  // application containers are settled: no sandbox waits for the slowest container of another.
  const applicationSettled = new Map(records.map((record) => [record.id, Promise.withResolvers<ContainersStopped>()]));
  const application = (async () => {
    const ids = records.map((r) => r.id);
    const intentDone = await context.store.journalStopIntent(ids, deadline()).catch((error: unknown) => {
      // Nothing is signalled yet: the sandboxes stay as they were, and the stop can be retried.
      throw stopStepFailed(ids.length === 1 ? `pod sandbox ${ids[0]}` : `${ids.length} pod sandboxes`, "stop-intent-write", error, { podSandboxIds: ids });
    });
    for (const record of records) await journal(context, record, "requested", options, { memoryOnly: true });
    const apps = containers.filter((c) => !c.infra);
    const withApps = new Set(apps.filter((c) => c.state === "running").map((c) => c.sandboxId));
    const none: ContainersStopped = { errors: new Map(), warnings: new Map() };
    for (const record of records) if (!withApps.has(record.id)) applicationSettled.get(record.id)?.resolve(none);
    await stopContainers(context, apps, applicationKillAt, {
      killGraceMs,
      onSandboxSettled: (sandboxId, result) => applicationSettled.get(sandboxId)?.resolve(result),
    });
    return { intentDone };
  })();
  application.catch((error: unknown) => {
    for (const settled of applicationSettled.values()) settled.reject(error);
  });
  const stops = new Map(records.map((record) => [record.id, (async () => {
    // Its errors and warnings in the batch's result are final once it is settled.
    const applicationResult = await (applicationSettled.get(record.id) as PromiseWithResolvers<ContainersStopped>).promise;
    const stopped: ContainersStopped[] = [applicationResult];
    let begun: BegunSteps | undefined;
    if (!applicationResult.errors.has(record.id)) {
      // The reference unmounts the application containers' storage once they have stopped, before
      // the infra container's stop: begun now, it runs beside it (and the host cleanup awaits it).
      begun = { "storage-unmount": unmountContainerStorage(context, record) };
      const infra = context.store.containersOf(record.id).filter((c) => c.infra);
      stopped.push(await stopContainers(context, infra, deadline(), { killGraceMs }));
    }
    const durationMs = performance.now() - startedAt;
    return finishSandbox(context, record, stopped, { durationMs, startedAtEpoch, killAt }, startedAt, options, begun);
  })()]));
  // The batch's intent stays journaled until every sandbox of it is done (stopped or failed).
  void Promise.allSettled(stops.values()).then(() => application.then(({ intentDone }) => intentDone(), () => {}));
  return stops;
}


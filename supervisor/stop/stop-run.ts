import { getLogger } from "../../src/log/logger.ts";
import type { ContainerRecord, SandboxRecord, StopPhase } from "../../src/state/records.ts";
import { killGraceFor, stopContainers } from "./containers-stop.ts";
import type { ContainersStopped } from "./containers-stop.ts";
import type { StopOptions, StopOutcome, SupervisorContext } from "../context.ts";
import { cleanupSandboxHost } from "./sandbox-cleanup.ts";
import { StopIncompleteError, stopStepFailed } from "../../src/errors/stop-incomplete-error.ts";

const log = getLogger("supervisor:stop");

/** The share of a stop's budget kept for the infra containers, which stop last: at most 1 s. */
const infraReserveMs = 1_000;
const infraReserveShare = 0.25;

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
  const run = context.stopStrategy === "sequential" ? runSequential(context, fresh, deadlineAt, options) : runParallel(context, fresh, options);
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

function runParallel(context: SupervisorContext, records: SandboxRecord[], options: StopOptions): Map<string, Promise<StopOutcome>> {
  const startedAt = performance.now();
  const startedAtEpoch = Date.now();
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
  const reserve = Math.min(infraReserveMs, Math.max(0, deadline() - Date.now()) * infraReserveShare);
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
    if (!applicationResult.errors.has(record.id)) {
      const infra = context.store.containersOf(record.id).filter((c) => c.infra);
      stopped.push(await stopContainers(context, infra, deadline(), { killGraceMs }));
    }
    const durationMs = performance.now() - startedAt;
    return finishSandbox(context, record, stopped, { durationMs, startedAtEpoch, killAt }, startedAt, options);
  })()]));
  // The batch's intent stays journaled until every sandbox of it is done (stopped or failed).
  void Promise.allSettled(stops.values()).then(() => application.then(({ intentDone }) => intentDone(), () => {}));
  return stops;
}

/** The reference's way, for the benchmark's baseline: one sandbox, then one container, at a time, each with the full timeout. */
function runSequential(context: SupervisorContext, records: SandboxRecord[], deadlineAt: number, options: StopOptions): Map<string, Promise<StopOutcome>> {
  const timeoutMs = Math.max(0, deadlineAt - Date.now());
  const stops = new Map<string, Promise<StopOutcome>>();
  const intent = context.store.journalStopIntent(records.map((r) => r.id), deadlineAt);
  let previous: Promise<unknown> = intent;
  for (const record of records) {
    const stop = previous.catch(() => {}).then(async () => {
      await intent; // a stop whose intent is not on disk does not begin
      const startedAt = performance.now();
      const startedAtEpoch = Date.now();
      await journal(context, record, "requested", options);
      const containers = context.store.containersOf(record.id);
      const results: ContainersStopped[] = [];
      const killAts = new Map<string, number>();
      for (const container of [...containers.filter((c) => !c.infra), ...containers.filter((c) => c.infra)]) {
        // Each container gets the whole timeout, as in the reference: the sandbox's deadline moves with it.
        const containerDeadline = Date.now() + timeoutMs;
        context.deadlines.clear(record.id);
        context.deadlines.lower(record.id, containerDeadline);
        killAts.set(container.id, containerDeadline);
        results.push(await stopContainers(context, [container], containerDeadline));
      }
      const killAt = (container: ContainerRecord) => killAts.get(container.id) ?? Date.now();
      return finishSandbox(context, record, results, { durationMs: performance.now() - startedAt, startedAtEpoch, killAt }, startedAt, options);
    });
    stops.set(record.id, stop);
    previous = stop;
  }
  void Promise.allSettled(stops.values()).then(() => intent.then((done) => done(), () => {}));
  return stops;
}

/** How a sandbox's containers were stopped: how long it took, from when, and when each would be killed. */
interface ContainersTiming {
  durationMs: number;
  startedAtEpoch: number;
  killAt(container: ContainerRecord): number;
}

async function finishSandbox(context: SupervisorContext, record: SandboxRecord, results: ContainersStopped[], timing: ContainersTiming, startedAt: number, options: StopOptions): Promise<StopOutcome> {
  const errors = results.flatMap((result) => result.errors.get(record.id) ?? []);
  if (errors.length > 0) throw new StopIncompleteError(record.id, errors);
  // The containers' own records (durable, each written before its acknowledgement) already say they
  // stopped; the sandbox's phase reaches the disk with "stopped".
  await journal(context, record, "containers-stopped", options, { memoryOnly: true });
  // The host steps are idempotent: their phases are kept in memory (status shows them) and reach
  // the disk with the next durable write; a crash between only redoes them.
  const cleanup = await cleanupSandboxHost(context, record, (phase) => journal(context, record, phase, options, { memoryOnly: true }));
  // "stopped" reaches memory only once it is on disk: a write that fails (the disk is full) leaves
  // the sandbox not-stopped, as its status says, and a retry redoes the idempotent steps and writes it.
  const stopped: SandboxRecord = { ...record, state: "stopped", stoppedAt: Date.now() };
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

/**
 * Journals the phase a stop has reached, with its absolute deadline, before going on: durably for
 * "stopped" ("requested" is in the batch's intent entry, and each container's record says it
 * stopped), in memory for the idempotent steps between, which a restart would redo.
 */
async function journal(context: SupervisorContext, record: SandboxRecord, phase: StopPhase, options: StopOptions, write: { memoryOnly?: boolean; skipped?: Record<string, string> } = {}): Promise<void> {
  record.stop = { phase, deadlineAt: context.deadlines.get(record.id) ?? Date.now(), requestedAt: record.stop?.requestedAt ?? Date.now() };
  if (write.skipped !== undefined) record.stop.skipped = write.skipped;
  if (phase === "requested") record.stop.requestedAt = Date.now();
  if (write.memoryOnly) context.store.touchSandbox(record);
  else await context.store.saveSandbox(record);
  options.onProgress?.({ podSandboxId: record.id, phase });
}


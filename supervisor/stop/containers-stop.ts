import { CodedError } from "../../src/actor-system/index.ts";
import type { BroadcastOutcome } from "../../src/actor-system/index.ts";
import { timeoutSignal } from "../../src/async/timeout-signal.ts";
import { stopContainerSequence } from "../../src/runtime/container-stop.ts";
import type { ContainerStopPort } from "../../src/runtime/container-stop.ts";
import { killCgroup } from "../../src/host/cgroup.ts";
import { waitForCgroupEmpty } from "../../src/host/cgroup-wait.ts";
import { getLogger } from "../../src/log/logger.ts";
import type { ContainerRecord } from "../../src/state/records.ts";
import type { ContainerMessage } from "../../actors/protocol.ts";
import type { SupervisorContext } from "../context.ts";

const log = getLogger("supervisor:stop");

/** Extra time the gather waits past the kill grace for an acknowledgement to travel back. */
const ackMarginMs = 1_000;

/**
 * The kill grace grows with the number of containers stopped at once: the runtime's reports of
 * thousands of exits queue behind each other on the main thread (seen at 10,000 sandboxes × 4:
 * with a fixed 5 s, a third of them were declared unreported while their processes were long gone).
 * The main thread spends ~0.5 ms per container over a stop (`--cpu-prof` at 3,000 × 3, 2026-12-05);
 * with 0.25 ms here, 3,220 of 10,000 sandboxes failed again. A grace only bounds a wait for a report
 * that normally comes: a larger one costs nothing unless the runtime really never answers.
 */
const killGracePerContainerMs = 1;

/** The bound on the runtime's report after a kill, for a stop of `count` containers at once. */
export function killGraceFor(context: Pick<SupervisorContext, "killGraceMs">, count: number): number {
  return context.killGraceMs + Math.ceil(count * killGracePerContainerMs);
}

/** What stopping a set of containers came to, by sandbox: who failed, and why. */
export interface ContainersStopped {
  errors: Map<string, CodedError[]>;
  warnings: Map<string, string[]>;
}

function add<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * Sends `container.stop` to every container's actor at once and gathers the acknowledgements
 * until the deadline plus the kill grace. A container whose actor cannot stop it — its worker died
 * or hangs — is stopped from the main thread instead, the moment that is known (the kill never
 * depends on a worker): its stop signal while its deadline has not passed, then the kill at the
 * deadline. Why is recorded in its record and the stop's warnings.
 */
export interface StopContainersOptions {
  /** The bound on the runtime's report after a kill; default: {@link killGraceFor} this many containers. */
  killGraceMs?: number;
  /**
   * Called once for each sandbox among `records` as soon as all of its running containers are
   * settled (stopped, or failed), before the others are: its errors and warnings in the result are
   * final by then. A sandbox with none running is not named.
   */
  onSandboxSettled?: (sandboxId: string, result: ContainersStopped) => void;
}

export async function stopContainers(context: SupervisorContext, records: ContainerRecord[], deadlineAt: number, options: StopContainersOptions = {}): Promise<ContainersStopped> {
  const running = records.filter((record) => record.state === "running");
  const result: ContainersStopped = { errors: new Map(), warnings: new Map() };
  if (running.length === 0) return result;
  const killGraceMs = options.killGraceMs ?? killGraceFor(context, running.length);
  const left = new Map<string, number>();
  for (const record of running) left.set(record.sandboxId, (left.get(record.sandboxId) ?? 0) + 1);
  const settled = (record: ContainerRecord): void => {
    const count = (left.get(record.sandboxId) ?? 1) - 1;
    left.set(record.sandboxId, count);
    if (count === 0) options.onSandboxSettled?.(record.sandboxId, result);
  };
  const message: ContainerMessage = { type: "container.stop", deadlineAt, killGraceMs };
  const takeovers: Promise<void>[] = [];
  const takeOver = async (record: ContainerRecord, why: string): Promise<void> => {
    add(result.warnings, record.sandboxId, `container ${record.id}: ${why}; stopped from the main thread`);
    context.takenOver.add(record.id);
    try {
      await stopFromMainThread(context, record, deadlineAt, why, killGraceMs);
    } catch (error) {
      add(result.errors, record.sandboxId, new CodedError("STOP_INCOMPLETE", `Cannot stop container ${record.id}: ${(error as Error).message}`, { cause: error }));
    } finally {
      context.takenOver.delete(record.id);
      settled(record);
    }
  };
  await context.system.broadcast<ContainerRecord>(running.map((record) => record.id), message, {
    deadlineAt: Math.max(deadlineAt, context.clock.now()) + killGraceMs + ackMarginMs,
    onOutcome: (outcome, index) => {
      const record = running[index];
      if (outcome.status === "acknowledged") return settled(record);
      if (outcome.status === "failed" && outcome.error.code !== "ACTOR_LOST" && outcome.error.code !== "NOT_FOUND") {
        add(result.errors, record.sandboxId, new CodedError(outcome.error.code, outcome.error.message, { details: outcome.error.details }));
        return settled(record);
      }
      takeovers.push(takeOver(record, describeMiss(outcome)));
    },
  });
  await Promise.all(takeovers);
  return result;
}

function describeMiss(outcome: BroadcastOutcome): string {
  if (outcome.status === "missed") return "its actor did not acknowledge the stop by the deadline (its worker hangs?)";
  if (outcome.status === "failed" && outcome.error.code === "NOT_FOUND") return "the runtime did not know it";
  return `its actor was lost (${outcome.status === "failed" ? outcome.error.message : ""})`;
}

/**
 * Stops a container without its actor: the same container-stop sequence the actor runs, with each
 * operation a direct call on the main thread; a container the runtime does not know (an earlier
 * daemon started it and it could not be adopted) is killed through the cgroup its record names.
 * Its record says why the supervisor stopped it.
 */
async function stopFromMainThread(context: SupervisorContext, record: ContainerRecord, deadlineAt: number, why: string, killGraceMs: number): Promise<void> {
  const ended = await stopContainerSequence(record, { deadlineAt, killGraceMs, message: `stopped by the supervisor: ${why}` }, mainThreadPort(context));
  log.warn("Stopped a container from the main thread", { containerId: record.id, sandboxId: record.sandboxId, why, reason: ended.reason });
}

function mainThreadPort(context: SupervisorContext): ContainerStopPort {
  const { clock, runtime, store } = context;
  return {
    clock,
    signalAndWait: runtime.signalAndWait,
    killAndWait: runtime.killAndWait,
    save: (record) => store.saveContainer(record),
    async killUnknown(record, deadlineAt) {
      await killCgroup(record.cgroupPath);
      const { signal, release } = timeoutSignal(deadlineAt - clock.now(), { clock });
      try {
        await waitForCgroupEmpty(record.cgroupPath, { signal });
      } finally {
        release();
      }
    },
  };
}

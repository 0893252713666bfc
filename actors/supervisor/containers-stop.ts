import { CodedError } from "../../src/actor-system/index.ts";
import type { BroadcastOutcome } from "../../src/actor-system/index.ts";
import { timeoutSignal } from "../../src/actor-system/timeout-signal.ts";
import { killCgroup } from "../../src/host/cgroup.ts";
import { waitForCgroupEmpty } from "../../src/host/cgroup-wait.ts";
import { getLogger } from "../../src/log/logger.ts";
import type { ContainerState } from "../../src/runtime/runtime-backend.ts";
import type { ContainerRecord } from "../../src/state/records.ts";
import type { ContainerMessage } from "../protocol.ts";
import type { SupervisorContext } from "./context.ts";

const log = getLogger("supervisor:stop");

/** Extra time the gather waits past the kill grace for an acknowledgement to travel back. */
const ackMarginMs = 1_000;

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
 * until the deadline plus the kill grace. A container whose actor does not answer (its worker is
 * stuck or lost) is killed from the main thread — the kill never depends on a worker — and the
 * reason is recorded.
 */
export async function stopContainers(context: SupervisorContext, records: ContainerRecord[], deadlineAt: number): Promise<ContainersStopped> {
  const running = records.filter((record) => record.state === "running");
  const result: ContainersStopped = { errors: new Map(), warnings: new Map() };
  if (running.length === 0) return result;
  const message: ContainerMessage = { type: "container.stop", deadlineAt, killGraceMs: context.killGraceMs };
  const outcomes = await context.system.broadcast<ContainerRecord>(running.map((record) => record.id), message, {
    deadlineAt: Math.max(deadlineAt, Date.now()) + context.killGraceMs + ackMarginMs,
  });
  await Promise.all(outcomes.map(async (outcome, index) => {
    if (outcome.status === "acknowledged") return;
    const record = running[index];
    if (outcome.status === "failed" && outcome.error.code !== "ACTOR_LOST" && outcome.error.code !== "NOT_FOUND") {
      add(result.errors, record.sandboxId, new CodedError(outcome.error.code, outcome.error.message, { details: outcome.error.details }));
      return;
    }
    const why = describeMiss(outcome);
    add(result.warnings, record.sandboxId, `container ${record.id}: ${why}; killed from the main thread`);
    try {
      await killFromMainThread(context, record, why);
    } catch (error) {
      add(result.errors, record.sandboxId, new CodedError("STOP_INCOMPLETE", `Cannot stop container ${record.id}: ${(error as Error).message}`, { cause: error }));
    }
  }));
  return result;
}

function describeMiss(outcome: BroadcastOutcome): string {
  return outcome.status === "missed" ? "its actor did not acknowledge the stop by the deadline" : `its actor was lost (${outcome.status === "failed" ? outcome.error.message : ""})`;
}

/** Kills every process of the container without its actor, waits for it, records why. */
async function killFromMainThread(context: SupervisorContext, record: ContainerRecord, why: string): Promise<void> {
  const { signal, release } = timeoutSignal(context.killGraceMs);
  let state: ContainerState | undefined;
  try {
    await context.backend.killAll(record.id);
    state = await context.backend.waitForStopped(record.id, { signal });
  } catch (error) {
    if ((error as { code?: string }).code !== "NOT_FOUND") throw error;
    // The runtime does not know it (an earlier daemon started it): its cgroup is in the record.
    await killCgroup(record.cgroupPath);
    await waitForCgroupEmpty(record.cgroupPath, { signal });
  } finally {
    release();
  }
  log.warn("Killed a container from the main thread", { containerId: record.id, sandboxId: record.sandboxId, why });
  const updated: ContainerRecord = {
    ...record,
    state: "exited",
    exitCode: state?.exitCode,
    signal: state?.signal,
    finishedAt: state?.finishedAt ?? Date.now(),
    reason: "killed-at-deadline",
  };
  await context.store.saveContainer(updated);
}

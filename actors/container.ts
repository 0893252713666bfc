/**
 * The container actor: decides how its container is started and stopped, and keeps its record.
 * It never touches a process itself — the main thread's runtime service does (see
 * `src/actor-system`'s `serve()` for why).
 */
import type { ActorContext, Behavior } from "../src/actor-system/index.ts";
import { CodedError } from "../src/actor-system/index.ts";
import { unknownExitMessage } from "../src/runtime/runtime-backend.ts";
import type { RuntimeState } from "../src/runtime/runtime-backend.ts";
import type { ContainerRecord, ExitReason } from "../src/state/records.ts";
import { runtimeService, stateService } from "./protocol.ts";
import { stopStepFailed } from "../src/errors/stop-incomplete-error.ts";
import type { ContainerMessage, RuntimeRequest, StateRequest, WaitStoppedResult } from "./protocol.ts";

/** How long a runtime call may take that is not itself a wait (start, signal, kill). */
const runtimeCallMs = 30_000;

export const containerBehavior: Behavior<ContainerRecord, ContainerMessage, ContainerRecord> = {
  start: (record) => ({ ...record }),

  async receive(record, message, context) {
    switch (message.type) {
      case "container.start":
        return start(record, context);
      case "container.stop":
        return stop(record, message, context);
      case "container.exited":
        if (record.state === "running") await finish(record, message.state, undefined, context);
        return record;
      case "container.record":
        return record;
    }
  },
};

async function start(record: ContainerRecord, context: ActorContext): Promise<ContainerRecord> {
  if (record.state !== "created") {
    throw new CodedError("FAILED_PRECONDITION", `Cannot start container ${record.id}: it is ${record.state}`);
  }
  const started = await runtime<{ pid: number; startedAt: number }>(context, { op: "start", id: record.id });
  Object.assign(record, { state: "running", pid: started.pid, startedAt: started.startedAt });
  await save(record, context);
  return record;
}

/**
 * Stop signal → wait for the runtime to report stopped, until the deadline → kill every process
 * in the container → wait for stopped, bounded → record exit code and reason, on disk → answer.
 */
async function stop(record: ContainerRecord, message: Extract<ContainerMessage, { type: "container.stop" }>, context: ActorContext): Promise<ContainerRecord> {
  if (record.state === "exited") {
    // The main thread asks only while its copy says running, so the record of this exit was not
    // written (the disk was full, say): write it again, or its exit code and reason would be lost.
    await save(record, context).catch((error: unknown) => {
      throw exitNotRecorded(record, error);
    });
    return record;
  }
  if (record.state !== "running") return record; // created: nothing runs
  const { id, sandboxId } = record;
  let reason: ExitReason | undefined;
  await runtime(context, { op: "signal", id, signal: record.stopSignal });
  let waited = await runtime<WaitStoppedResult>(context, { op: "wait-stopped", id, sandboxId, deadlineAt: message.deadlineAt }, message.deadlineAt);
  if (!waited.stopped) {
    reason ??= "killed-at-deadline";
    await runtime(context, { op: "kill-all", id });
    const graceAt = Date.now() + message.killGraceMs;
    waited = await runtime<WaitStoppedResult>(context, { op: "wait-stopped", id, deadlineAt: graceAt }, graceAt);
    if (!waited.stopped) {
      throw new CodedError("STOP_INCOMPLETE", `Cannot stop container ${id}: the runtime did not report it stopped ${message.killGraceMs} ms after the kill`, {
        details: { containerId: id, sandboxId },
      });
    }
  }
  // A failed write leaves the record "exited" here, not on disk: the retry's stop writes it again.
  await finish(record, waited.state, reason, context).catch((error: unknown) => {
    throw exitNotRecorded(record, error);
  });
  return record;
}

function exitNotRecorded(record: ContainerRecord, error: unknown): Error {
  return stopStepFailed(`container ${record.id}`, "container-record-write", error, { containerId: record.id, sandboxId: record.sandboxId });
}

async function finish(record: ContainerRecord, state: RuntimeState, reason: ExitReason | undefined, context: ActorContext): Promise<void> {
  Object.assign(record, exitFields(state, reason));
  await save(record, context);
}

/** A stopped container's record fields, from the runtime's report and the stop's reason, if any. */
export function exitFields(state: RuntimeState, reason: ExitReason | undefined): Partial<ContainerRecord> {
  if (state.exitCodeUnknown === true) {
    return { state: "exited", finishedAt: state.finishedAt ?? Date.now(), reason, exitCodeUnknown: true, message: `exit status unknown: ${unknownExitMessage}` };
  }
  return {
    state: "exited",
    exitCode: state.exitCode,
    signal: state.signal,
    finishedAt: state.finishedAt ?? Date.now(),
    reason: reason ?? (state.signal === undefined ? "exited" : "signalled"),
  };
}

function runtime<T = unknown>(context: ActorContext, request: RuntimeRequest, waitUntil?: number): Promise<T> {
  const deadlineAt = Math.max(waitUntil ?? 0, Date.now()) + runtimeCallMs;
  return context.ask<T>(runtimeService, request, { deadlineAt });
}

function save(record: ContainerRecord, context: ActorContext): Promise<unknown> {
  const request: StateRequest = { op: "save-container", record };
  return context.ask(stateService, request, { deadlineAt: Date.now() + runtimeCallMs });
}

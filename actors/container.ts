/**
 * The container actor: decides how its container is started and stopped, and keeps its record.
 * It never touches a process itself — the main thread's runtime service does (DESIGN.md: "Subprocesses
 * belong on the main thread"); the stop runs the one container-stop sequence (`src/runtime/container-stop.ts`)
 * with each of its operations a request to the main thread (see docs/STOP.md for why).
 */
import type { ActorContext, Behavior } from "../src/actor-system/index.ts";
import { CodedError } from "../src/errors/coded-error.ts";
import { exitFields, stopContainerSequence } from "../src/runtime/container-stop.ts";
import type { ContainerStopPort } from "../src/runtime/container-stop.ts";
import type { RuntimeState } from "../src/runtime/runtime-backend.ts";
import type { ContainerRecord } from "../src/state/records.ts";
import { runtimeService, stateService } from "./protocol.ts";
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
        return stopContainerSequence(record, message, actorPort(record, context));
      case "container.exited":
        if (record.state === "running") await actorPort(record, context).save({ ...record, ...exitFields(message.state, undefined, context.clock.now()) });
        return record;
    }
  },
};

async function start(record: ContainerRecord, context: ActorContext): Promise<ContainerRecord> {
  if (record.state !== "created") {
    throw new CodedError("FAILED_PRECONDITION", `Cannot start container ${record.id}: it is ${record.state}`);
  }
  const started = await runtime<{ pid: number; startedAt: number }>(context, { op: "start", id: record.id });
  await actorPort(record, context).save({ ...record, state: "running", pid: started.pid, startedAt: started.startedAt });
  return record;
}

/**
 * The stop sequence's operations, as requests to the main thread: two round trips for a container
 * that stops on its signal (signal-and-wait, save), three for one killed at its deadline.
 * `save` updates the actor's own record first, so a write that fails leaves it "exited" here, and
 * the retry's stop writes it again rather than losing its exit code and reason.
 */
function actorPort(record: ContainerRecord, context: ActorContext): ContainerStopPort {
  const wait = async (request: RuntimeRequest, deadlineAt: number): Promise<RuntimeState | undefined> => {
    const waited = await runtime<WaitStoppedResult>(context, request, deadlineAt);
    return waited.stopped ? waited.state : undefined;
  };
  return {
    clock: context.clock,
    signalAndWait: (r, signal, deadlineAt) => wait({ op: "signal-and-wait", id: r.id, sandboxId: r.sandboxId, signal, deadlineAt }, deadlineAt),
    killAndWait: (r, deadlineAt) => wait({ op: "kill-and-wait", id: r.id, deadlineAt }, deadlineAt),
    save: async (next) => {
      Object.assign(record, next);
      const request: StateRequest = { op: "save-container", record };
      await context.ask(stateService, request, { deadlineAt: context.clock.now() + runtimeCallMs });
    },
  };
}

function runtime<T = unknown>(context: ActorContext, request: RuntimeRequest, waitUntil?: number): Promise<T> {
  const deadlineAt = Math.max(waitUntil ?? 0, context.clock.now()) + runtimeCallMs;
  return context.ask<T>(runtimeService, request, { deadlineAt });
}

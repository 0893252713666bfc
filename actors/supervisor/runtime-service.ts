/**
 * The main thread's runtime service: container actors ask it to start, signal, kill and wait;
 * it is the only code that touches container processes (see DESIGN.md, "Subprocesses belong on
 * the main thread").
 */
import type { ActorSystem, MainThreadService } from "../../src/actor-system/index.ts";
import { getLogger } from "../../src/log/logger.ts";
import type { RuntimeBackend } from "../../src/runtime/runtime-backend.ts";
import type { ContainerMessage, RuntimeRequest, WaitStoppedResult } from "../protocol.ts";
import type { StopDeadlines } from "./stop-deadlines.ts";

const log = getLogger("supervisor:runtime");

export function runtimeService(backend: RuntimeBackend, system: ActorSystem, deadlines: StopDeadlines): MainThreadService {
  return async (message) => {
    const request = message as RuntimeRequest;
    switch (request.op) {
      case "start": {
        const started = await backend.start(request.id);
        watchExit(backend, system, request.id);
        return started;
      }
      case "signal":
        return backend.signal(request.id, request.signal as NodeJS.Signals);
      case "kill-all":
        return backend.killAll(request.id);
      case "wait-stopped":
        return waitStopped(backend, deadlines, request);
    }
  };
}

async function waitStopped(backend: RuntimeBackend, deadlines: StopDeadlines, request: Extract<RuntimeRequest, { op: "wait-stopped" }>): Promise<WaitStoppedResult> {
  const { signal, dispose } = deadlines.signalFor(request.sandboxId, request.deadlineAt);
  try {
    return { stopped: true, state: await backend.waitForStopped(request.id, { signal }) };
  } catch (error) {
    if (signal.aborted) return { stopped: false };
    throw error;
  } finally {
    dispose();
  }
}

/** Tells the container's actor when its container stops by itself, so its exit code is kept. */
function watchExit(backend: RuntimeBackend, system: ActorSystem, id: string): void {
  backend.waitForStopped(id).then(
    (state) => {
      const message: ContainerMessage = { type: "container.exited", state };
      system.tell(id, message);
    },
    (error: unknown) => log.debug("Stopped watching a container", { containerId: id, error }),
  );
}

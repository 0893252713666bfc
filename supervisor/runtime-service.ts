/**
 * The main thread's runtime service: container actors ask it to start, signal, kill and wait;
 * it is the only code that touches container processes (see DESIGN.md, "Subprocesses belong on
 * the main thread").
 */
import type { ActorSystem, MainThreadService } from "../src/actor-system/index.ts";
import { getLogger } from "../src/log/logger.ts";
import { raceSignals } from "../src/async/race.ts";
import type { RuntimeState, RuntimeBackend } from "../src/runtime/runtime-backend.ts";
import type { ContainerMessage, RuntimeRequest, WaitStoppedResult } from "../actors/protocol.ts";
import type { StopDeadlines } from "./stop/stop-deadlines.ts";

const log = getLogger("supervisor:runtime");

export interface RuntimeService {
  /** What the container actors ask (served as {@link runtimeService}). */
  handle: MainThreadService;
  /** Watches a container the backend runs already (adopted after a restart) as if it had just started it. */
  watch(id: string): void;
}

export function createRuntimeService(backend: RuntimeBackend, system: ActorSystem, deadlines: StopDeadlines): RuntimeService {
  /** One watch per running container, shared by its exit report and every wait for its stop. */
  const watches = new Map<string, Promise<RuntimeState>>();
  const watch = (id: string) => void watches.set(id, watchExit(backend, system, id, () => watches.delete(id)));
  const handle: MainThreadService = async (message) => {
    const request = message as RuntimeRequest;
    switch (request.op) {
      case "start": {
        const started = await backend.start(request.id);
        watch(request.id);
        return started;
      }
      case "signal":
        return backend.signal(request.id, request.signal as NodeJS.Signals);
      case "kill-all":
        return backend.killAll(request.id); // at most 256 at once: see killCgroup
      case "wait-stopped":
        return waitStopped(backend, deadlines, request, watches.get(request.id));
    }
  };
  return { handle, watch };
}

async function waitStopped(
  backend: RuntimeBackend,
  deadlines: StopDeadlines,
  request: Extract<RuntimeRequest, { op: "wait-stopped" }>,
  watch: Promise<RuntimeState> | undefined,
): Promise<WaitStoppedResult> {
  const { signal, dispose } = deadlines.signalFor(request.sandboxId, request.deadlineAt);
  try {
    const stopped = watch === undefined ? backend.waitForStopped(request.id, { signal }) : raceSignals(watch, [signal]);
    return { stopped: true, state: await stopped };
  } catch (error) {
    if (signal.aborted) return { stopped: false };
    throw error;
  } finally {
    dispose();
  }
}

/** Tells the container's actor when its container stops (by itself or not), so its exit code is kept. */
function watchExit(backend: RuntimeBackend, system: ActorSystem, id: string, done: () => void): Promise<RuntimeState> {
  const watch = backend.waitForStopped(id);
  watch.then(
    (state) => {
      const message: ContainerMessage = { type: "container.exited", state };
      system.tell(id, message);
    },
    (error: unknown) => log.debug("Stopped watching a container", { containerId: id, error }),
  ).finally(done);
  return watch;
}

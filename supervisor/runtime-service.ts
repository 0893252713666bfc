/**
 * The main thread's runtime service: the only code that touches container processes (DESIGN.md,
 * "Subprocesses belong on the main thread"). Container actors ask it through the actor system
 * ({@link RuntimeService.handle}); the supervisor calls the same operations directly when it stops a
 * container itself (a lost or hung actor). Either way the container-stop sequence runs on them.
 */
import type { ActorSystem, MainThreadService } from "../src/actor-system/index.ts";
import type { Clock } from "../src/async/clock.ts";
import { raceSignals } from "../src/async/race.ts";
import { getLogger } from "../src/log/logger.ts";
import type { RuntimeBackend, RuntimeState } from "../src/runtime/runtime-backend.ts";
import type { ContainerRecord } from "../src/state/records.ts";
import type { ContainerMessage, RuntimeRequest, WaitStoppedResult } from "../actors/protocol.ts";
import type { StopDeadlines } from "./stop/stop-deadlines.ts";

const log = getLogger("supervisor:runtime");

export interface RuntimeService {
  /** What the container actors ask (served as `runtimeService`). */
  handle: MainThreadService;
  /** Watches a container the backend runs already (adopted after a restart) as if it had just started it. */
  watch(id: string): void;
  /** Its stop signal, then the wait for the runtime's "stopped" until `deadlineAt` or its sandbox's stop deadline; undefined if that passed. */
  signalAndWait(record: Pick<ContainerRecord, "id" | "sandboxId">, signal: string, deadlineAt: number): Promise<RuntimeState | undefined>;
  /** The kill of every process, then the wait for "stopped" until `deadlineAt`; undefined if that passed. */
  killAndWait(record: Pick<ContainerRecord, "id">, deadlineAt: number): Promise<RuntimeState | undefined>;
}

export function createRuntimeService(backend: RuntimeBackend, system: ActorSystem, deadlines: StopDeadlines, clock: Clock): RuntimeService {
  /** One watch per running container, shared by its exit report and every wait for its stop. */
  const watches = new Map<string, Promise<RuntimeState>>();
  const watch = (id: string) => void watches.set(id, watchExit(backend, system, id, () => watches.delete(id)));
  const waitStopped = async (id: string, sandboxId: string | undefined, deadlineAt: number): Promise<RuntimeState | undefined> => {
    const { signal, dispose } = deadlines.signalFor(sandboxId, deadlineAt, clock);
    try {
      const known = watches.get(id);
      return await (known === undefined ? backend.waitForStopped(id, { signal }) : raceSignals(known, [signal]));
    } catch (error) {
      if (signal.aborted) return undefined;
      throw error;
    } finally {
      dispose();
    }
  };
  const signalAndWait: RuntimeService["signalAndWait"] = async (record, signal, deadlineAt) => {
    await backend.signal(record.id, signal as NodeJS.Signals);
    return waitStopped(record.id, record.sandboxId, deadlineAt);
  };
  const killAndWait: RuntimeService["killAndWait"] = async (record, deadlineAt) => {
    await backend.killAll(record.id); // bounded in killCgroup: thousands may come due at once
    return waitStopped(record.id, undefined, deadlineAt);
  };
  const answer = (state: RuntimeState | undefined): WaitStoppedResult => (state === undefined ? { stopped: false } : { stopped: true, state });
  const handle: MainThreadService = async (message) => {
    const request = message as RuntimeRequest;
    switch (request.op) {
      case "start": {
        const started = await backend.start(request.id);
        watch(request.id);
        return started;
      }
      case "signal-and-wait":
        return answer(await signalAndWait(request, request.signal, request.deadlineAt));
      case "kill-and-wait":
        return answer(await killAndWait(request, request.deadlineAt));
    }
  };
  return { handle, watch, signalAndWait, killAndWait };
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

import { CodedError } from "../src/errors/coded-error.ts";
import type { Clock } from "../src/async/clock.ts";

/**
 * The creations in flight — RunPodSandbox, CreateContainer, StartContainer — and the gate a
 * shutdown closes on them. A creation puts things on the host (a netns, an shm mount, a cgroup, a
 * process) before its record says it owns them; a daemon that stopped everything it has records of
 * and exited while one was in flight left those things on the host for good. So a shutdown first
 * closes the gate (every creation asked for after it fails at once with UNAVAILABLE), then waits,
 * bounded, for the creations in flight to settle: each one either finishes, and its records are
 * then what the stop-all stops (or a live restore leaves running, whole), or fails and undoes what
 * it made, as every creation does on failure.
 *
 * @example
 * const id = await gate.run("run pod sandbox", () => runPodSandbox(context, config));
 * const { unsettled } = await gate.close({ deadlineAt: clock.now() + 30_000, clock });
 */
export class CreationGate {
  #open = true;
  readonly #inFlight = new Map<Promise<unknown>, string>();

  /** Runs `create` unless the gate is closed; `action` names it in the refusal ("run pod sandbox"). */
  run<T>(action: string, create: () => Promise<T>): Promise<T> {
    if (!this.#open) return Promise.reject(new CodedError("UNAVAILABLE", `Cannot ${action}: the daemon is shutting down`));
    const creation = create();
    this.#inFlight.set(creation, action);
    const settled = () => void this.#inFlight.delete(creation);
    creation.then(settled, settled);
    return creation;
  }

  /** Whether creations are still let in. */
  get open(): boolean {
    return this.#open;
  }

  /** The creations in flight now. */
  get size(): number {
    return this.#inFlight.size;
  }

  /**
   * Closes the gate for good, then settles once every creation in flight has settled, or at
   * `deadlineAt` with the actions of those still running (`unsettled`; logged by the caller: what
   * they made is the next start's leak check's to remove). Never rejects.
   */
  async close(options: { deadlineAt: number; clock: Clock }): Promise<{ unsettled: string[] }> {
    this.#open = false;
    const { clock } = options;
    let timer: unknown;
    const timedOut = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, options.deadlineAt - clock.now())));
    try {
      // A creation in flight cannot begin another through the gate (it is closed), so one pass is enough.
      await Promise.race([Promise.allSettled(this.#inFlight.keys()), timedOut]);
    } finally {
      clock.clearTimeout(timer);
    }
    return { unsettled: [...this.#inFlight.values()] };
  }
}

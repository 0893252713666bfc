/**
 * Waits for the runtime to say "stopped" for many containers at once with ONE `list --format json`
 * per round, whatever the number of waiters: a stop of 1,000 × 3 containers that forked a `state` per
 * container per round would spend seconds forking. A round starts only while someone waits.
 */
import { getLogger } from "../../log/logger.ts";
import type { OciListEntry, OciRuntime } from "./oci-runtime.ts";

const log = getLogger("runtime:oci");

/** How long between two rounds. */
export const defaultListIntervalMs = 20;

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * @example
 * const poller = new OciListPoller(runtime);
 * await poller.waitForStopped("c1", { signal: AbortSignal.timeout(5_000) });
 */
export class OciListPoller {
  #runtime: OciRuntime;
  #intervalMs: number;
  #waiters = new Map<string, Set<Waiter>>();
  #running = false;
  /** How many `list` calls were made: for tests that check one call serves many waiters. */
  rounds = 0;

  constructor(runtime: OciRuntime, options: { intervalMs?: number } = {}) {
    this.#runtime = runtime;
    this.#intervalMs = options.intervalMs ?? defaultListIntervalMs;
  }

  /**
   * Resolves once a round's `list` reports the container stopped or no longer lists it (gone is
   * stopped); rejects with the signal's reason when it aborts first.
   */
  waitForStopped(id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => settle(() => reject(signal?.reason));
      const settle = (done: () => void): void => {
        signal?.removeEventListener("abort", onAbort);
        const set = this.#waiters.get(id);
        set?.delete(waiter);
        if (set?.size === 0) this.#waiters.delete(id);
        done();
      };
      const waiter: Waiter = { resolve: () => settle(resolve), reject: (error) => settle(() => reject(error)) };
      signal?.addEventListener("abort", onAbort, { once: true });
      let set = this.#waiters.get(id);
      if (set === undefined) this.#waiters.set(id, (set = new Set()));
      set.add(waiter);
      this.#loop();
    });
  }

  async #loop(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#waiters.size > 0) {
        await this.#round();
        if (this.#waiters.size > 0) await new Promise((resolve) => setTimeout(resolve, this.#intervalMs));
      }
    } finally {
      this.#running = false;
    }
  }

  async #round(): Promise<void> {
    let entries: OciListEntry[];
    try {
      this.rounds++;
      entries = await this.#runtime.list();
    } catch (error) {
      log.warn("Cannot list the runtime's containers: will try again", { error: String(error) });
      return;
    }
    const byId = new Map(entries.map((entry) => [entry.id, entry]));
    for (const [id, set] of [...this.#waiters]) {
      const entry = byId.get(id);
      if (entry !== undefined && entry.status !== "stopped") continue;
      for (const waiter of [...set]) waiter.resolve();
    }
  }
}

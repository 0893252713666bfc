/**
 * Waits for the runtime to say "stopped" for many containers at once with ONE `list --format json`
 * per round, whatever the number of waiters: a stop of 1,000 × 3 containers that forked a `state` per
 * container per round would spend seconds forking. A round starts only while someone waits. A round
 * with only a few waiters, in a root that holds many containers (kubelet stopping one pod on a busy
 * node), asks each waiter's `state` instead: `list` loads every container of the root (~0.2 ms of
 * CPU each for runc: ~0.75 s at 3,800), a `state` one (~3 ms, mostly the fork).
 */
import { getLogger } from "../../log/logger.ts";
import type { OciListEntry, OciRuntime } from "./oci-runtime.ts";

const log = getLogger("runtime:oci");

/** How long between two rounds. */
export const defaultListIntervalMs = 20;

export interface OciListPollerOptions {
  /** How long between two rounds; default {@link defaultListIntervalMs}. */
  intervalMs?: number;
  /** At most this many waiters are asked for one by one (`state`); default 4. */
  stateUpTo?: number;
  /**
   * ...and only if the root holds at least this many containers per waiter (a `state` costs about
   * what listing 16 containers does); default 16.
   */
  heldPerState?: number;
  /** How many containers the runtime's root holds; default: many (state rounds allowed). */
  held?: () => number;
}

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
  #stateUpTo: number;
  #heldPerState: number;
  #held: () => number;
  /** How many rounds were made: for tests that check one round serves many waiters. */
  rounds = 0;
  /** How many of them asked each waiter's `state` instead of listing. */
  stateRounds = 0;

  constructor(runtime: OciRuntime, options: OciListPollerOptions = {}) {
    this.#runtime = runtime;
    this.#intervalMs = options.intervalMs ?? defaultListIntervalMs;
    this.#stateUpTo = options.stateUpTo ?? 4;
    this.#heldPerState = options.heldPerState ?? 16;
    this.#held = options.held ?? (() => Number.POSITIVE_INFINITY);
  }

  /**
   * Resolves once a round (`list`, or `state` for a few) reports the container stopped or gone (gone is
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
      // The waiters of one turn (a batch of exits seen together) go into the same first round.
      await new Promise((resolve) => setTimeout(resolve, 0));
      while (this.#waiters.size > 0) {
        await this.#round();
        if (this.#waiters.size > 0) await new Promise((resolve) => setTimeout(resolve, this.#intervalMs));
      }
    } finally {
      this.#running = false;
    }
  }

  async #round(): Promise<void> {
    const ids = [...this.#waiters.keys()];
    // A state round answers for the containers it asked about only; a list for every container.
    const oneByOne = ids.length <= this.#stateUpTo && ids.length * this.#heldPerState <= this.#held();
    let entries: (OciListEntry | undefined)[];
    try {
      this.rounds++;
      entries = oneByOne ? await this.#states(ids) : await this.#runtime.list();
    } catch (error) {
      log.warn("Cannot ask the runtime for its containers' state: will try again", { error: String(error) });
      return;
    }
    const byId = new Map(entries.flatMap((entry) => (entry === undefined ? [] : [[entry.id, entry] as const])));
    const asked = oneByOne ? new Set(ids) : undefined;
    for (const [id, set] of [...this.#waiters]) {
      if (asked !== undefined && !asked.has(id)) continue; // came while the round ran: the next one asks
      const entry = byId.get(id);
      if (entry !== undefined && entry.status !== "stopped") continue;
      for (const waiter of [...set]) waiter.resolve();
    }
  }

  /** Each container's state; undefined for one the runtime no longer knows (gone is stopped). */
  #states(ids: string[]): Promise<(OciListEntry | undefined)[]> {
    this.stateRounds++;
    return Promise.all(ids.map((id) => this.#runtime.stateIfKnown(id)));
  }
}

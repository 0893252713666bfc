import type { Clock, TimerHandle } from "../async/clock.ts";
import { DeadlineExceededError } from "../errors/coded-error.ts";

/** Timers cannot wait longer than this (2^31 - 1 ms); a later deadline is treated as none. */
const maxTimerMs = 2 ** 31 - 1;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  deadlineAt: number;
  /** Where the ask went (a worker serial), so a lost worker can fail its asks at once. */
  target: number;
  to: string;
}

/**
 * The asks still waiting for an answer. Asks that share a deadline share one timer — a broadcast
 * to 40,000 actors arms one — and the timer is cleared when its last ask settles, so a settled ask
 * leaves no timer or listener behind.
 */
export class PendingAsks {
  #clock: Clock;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #byDeadline = new Map<number, { ids: Set<number>; timer: TimerHandle }>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Registers an ask; returns its id and the promise of its answer. */
  add(to: string, target: number, deadlineAt: number): { id: number; promise: Promise<unknown> } {
    const id = this.#nextId++;
    const promise = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, deadlineAt, target, to });
    });
    if (!(deadlineAt - this.#clock.now() <= maxTimerMs)) return { id, promise }; // no real deadline
    let group = this.#byDeadline.get(deadlineAt);
    if (group === undefined) {
      const timer = this.#clock.setTimeout(() => this.#expire(deadlineAt), deadlineAt - this.#clock.now());
      group = { ids: new Set(), timer };
      this.#byDeadline.set(deadlineAt, group);
    }
    group.ids.add(id);
    return { id, promise };
  }

  resolve(id: number, value: unknown): void {
    this.#take(id)?.resolve(value);
  }

  reject(id: number, error: Error): void {
    this.#take(id)?.reject(error);
  }

  /** Rejects every ask sent to `target` (a lost worker) with the error `makeError` builds for it. */
  rejectTarget(target: number, makeError: (to: string) => Error): number {
    let count = 0;
    for (const [id, pending] of this.#pending) {
      if (pending.target !== target) continue;
      this.reject(id, makeError(pending.to));
      count++;
    }
    return count;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** How many deadline timers are armed (one per distinct deadline still awaited). */
  get armedTimers(): number {
    return this.#byDeadline.size;
  }

  #take(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    const group = this.#byDeadline.get(pending.deadlineAt);
    if (group !== undefined) {
      group.ids.delete(id);
      if (group.ids.size === 0) {
        this.#clock.clearTimeout(group.timer);
        this.#byDeadline.delete(pending.deadlineAt);
      }
    }
    return pending;
  }

  #expire(deadlineAt: number): void {
    const group = this.#byDeadline.get(deadlineAt);
    if (group === undefined) return;
    this.#byDeadline.delete(deadlineAt);
    for (const id of group.ids) {
      const pending = this.#pending.get(id);
      if (pending === undefined) continue;
      this.#pending.delete(id);
      pending.reject(
        new DeadlineExceededError(`Cannot get an answer from actor "${pending.to}": its deadline passed`, {
          details: { actorId: pending.to, deadlineAt },
        }),
      );
    }
  }
}

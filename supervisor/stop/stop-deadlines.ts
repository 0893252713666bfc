import type { Clock } from "../../src/async/clock.ts";

/**
 * The current stop deadline of each sandbox being stopped. A second stop that joins a first may
 * shorten it (never lengthen it); every wait running under the old deadline is cut to the new one.
 */
export class StopDeadlines {
  #deadlines = new Map<string, { deadlineAt: number; lowered: EventTarget }>();
  /** Grows at every change of a deadline in force: a caller may keep what it derived until it grows. */
  #version = 0;

  get version(): number {
    return this.#version;
  }

  /** Sets or lowers `sandboxId`'s deadline; returns the one in force. */
  lower(sandboxId: string, deadlineAt: number): number {
    const current = this.#deadlines.get(sandboxId);
    if (current === undefined) {
      this.#version++;
      this.#deadlines.set(sandboxId, { deadlineAt, lowered: new EventTarget() });
      return deadlineAt;
    }
    if (deadlineAt < current.deadlineAt) {
      this.#version++;
      current.deadlineAt = deadlineAt;
      current.lowered.dispatchEvent(new Event("lowered"));
    }
    return current.deadlineAt;
  }

  get(sandboxId: string): number | undefined {
    return this.#deadlines.get(sandboxId)?.deadlineAt;
  }

  clear(sandboxId: string): void {
    this.#deadlines.delete(sandboxId);
  }

  /**
   * A signal that aborts at `deadlineAt`, or at the sandbox's stop deadline if that is (or
   * becomes) earlier. Call `dispose` when done so that no timer or listener lingers.
   */
  signalFor(sandboxId: string | undefined, deadlineAt: number, clock: Clock): { signal: AbortSignal; dispose(): void } {
    const controller = new AbortController();
    let timer: unknown;
    const arm = () => {
      clock.clearTimeout(timer);
      const at = Math.min(deadlineAt, (sandboxId === undefined ? undefined : this.get(sandboxId)) ?? deadlineAt);
      timer = clock.setTimeout(() => controller.abort(new Error("deadline")), Math.max(0, at - clock.now()));
    };
    const entry = sandboxId === undefined ? undefined : this.#deadlines.get(sandboxId);
    entry?.lowered.addEventListener("lowered", arm);
    arm();
    return {
      signal: controller.signal,
      dispose: () => {
        clock.clearTimeout(timer);
        entry?.lowered.removeEventListener("lowered", arm);
      },
    };
  }
}

import type { SupervisorContext } from "./context.ts";

/**
 * The ids (of sandboxes and containers) whose run, create or start is in flight. Such an operation
 * puts things on the host — a netns, an shm or rootfs mount, a cgroup, a process — before a record
 * says it owns them, so the leak check leaves alone everything named after these ids.
 *
 * A check compares a snapshot of the records with a later snapshot of the host. What it must not
 * miss is an operation that began *between* the two, so besides the ids in flight now it can watch a
 * window: {@link InFlightIds.watch} collects every id in flight when it is called or begun before
 * `stop()`, even if its operation has ended meanwhile.
 *
 * @example
 * const done = inFlightOf(context).begin(sandboxId);
 * try { await createNetns(`pv-${context.tag}-${sandboxId}`); … } finally { done(); }
 */
export class InFlightIds {
  readonly #active = new Map<string, number>();
  readonly #windows = new Set<Set<string>>();

  /** Marks `ids` in flight until the returned function is called (calling it again does nothing). */
  begin(...ids: string[]): () => void {
    for (const id of ids) {
      this.#active.set(id, (this.#active.get(id) ?? 0) + 1);
      for (const window of this.#windows) window.add(id);
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      for (const id of ids) {
        const count = (this.#active.get(id) ?? 1) - 1;
        if (count === 0) this.#active.delete(id);
        else this.#active.set(id, count);
      }
    };
  }

  /** Whether an operation on `id` is in flight now. */
  has(id: string): boolean {
    return this.#active.has(id);
  }

  /** Starts a window: `ids` holds every id in flight now and every one begun until `stop()`. */
  watch(): { ids: ReadonlySet<string>; stop(): void } {
    const ids = new Set(this.#active.keys());
    this.#windows.add(ids);
    return { ids, stop: () => void this.#windows.delete(ids) };
  }
}

/** The context's registry of ids in flight, made on first use. */
export function inFlightOf(context: SupervisorContext): InFlightIds {
  context.inFlight ??= new InFlightIds();
  return context.inFlight;
}

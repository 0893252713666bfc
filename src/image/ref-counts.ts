/** Counts of holders per key (pins of digests by pulls in flight, holds of images by creations). */
export class RefCounts {
  readonly #counts = new Map<string, number>();

  /** Takes one reference to each key; the returned function gives them back (once). */
  take(keys: string[]): () => void {
    for (const key of keys) this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const key of keys) {
        const count = (this.#counts.get(key) ?? 1) - 1;
        if (count <= 0) this.#counts.delete(key);
        else this.#counts.set(key, count);
      }
    };
  }

  has(key: string): boolean {
    return this.#counts.has(key);
  }

  keys(): string[] {
    return [...this.#counts.keys()];
  }
}

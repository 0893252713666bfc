/**
 * At most `concurrency` plugin runs at once; the rest wait their turn, in order. A finished run
 * hands its slot straight to the next waiter (the count never drops while one waits), so no caller
 * can take it in between. src/host/host-batcher.ts's Limiter frees the slot first and lets the
 * waiter count itself back in when it resumes; with it, test/network/network-batch.test.ts saw
 * three DELs at once under a limit of two on Deno (2 runs of 6; 0 of 8 with this one).
 *
 * @example
 * const limiter = new PluginLimiter(16);
 * await Promise.all(dels.map((del) => limiter.run(() => invokePlugin(…))));
 */
export class PluginLimiter {
  readonly #concurrency: number;
  #running = 0;
  #waiting: (() => void)[] = [];
  #head = 0;

  constructor(concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`Cannot limit plugin runs: concurrency must be a whole number of at least 1, got ${concurrency}`);
    this.#concurrency = concurrency;
  }

  /** Runs now if a slot is free, else once one is handed over. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#concurrency) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve)); // the slot comes with the wake-up
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  /** Runs in progress (for tests and metrics). */
  get running(): number {
    return this.#running;
  }

  #release(): void {
    if (this.#head < this.#waiting.length) {
      const wake = this.#waiting[this.#head++];
      if (this.#head === this.#waiting.length) {
        this.#waiting = [];
        this.#head = 0;
      }
      wake(); // the slot passes on: #running stays as it is
      return;
    }
    this.#running--;
  }
}

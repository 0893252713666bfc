/**
 * Gathers single requests for one kind of host work into batches, so that one process (one
 * `umount` for many paths, one `ip -batch` for many namespaces) does the work of many: at 1,000
 * sandboxes, forking once per item costs ~10x the work itself. A request waits at most for the
 * batch in progress; at most `concurrency` batches run at once, so each kind of host work has its
 * own limit and never holds up another kind.
 *
 * @example
 * const netns = new HostBatcher((names) => removeEach(names), { concurrency: 1 });
 * await Promise.all(ids.map((id) => netns.run(`pv-x-${id}`)));
 */
export class HostBatcher<T, R> {
  #work: (items: T[]) => Promise<Map<T, R | Error>>;
  #concurrency: number;
  #maxBatch: number;
  #queue: { item: T; resolve(value: R): void; reject(error: Error): void }[] = [];
  #running = 0;
  #scheduled = false;

  #windowMs: number;

  /**
   * `windowMs`: how long a batch waits for more requests before it starts (default 0: the
   * requests of the current turn of the event loop); worth it where one run is costly.
   */
  constructor(work: (items: T[]) => Promise<Map<T, R | Error>>, options: { concurrency?: number; maxBatch?: number; windowMs?: number } = {}) {
    this.#work = work;
    this.#concurrency = options.concurrency ?? 1;
    this.#maxBatch = options.maxBatch ?? 2_000;
    this.#windowMs = options.windowMs ?? 0;
  }

  /** Queues one item; resolves with its own outcome, or rejects with its own error. */
  run(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running >= this.#concurrency || this.#queue.length === 0) return;
    this.#scheduled = true;
    // Let the requests of this turn of the event loop (or of the window) join the batch.
    const start = () => {
      this.#scheduled = false;
      void this.#runBatch();
    };
    if (this.#windowMs > 0) setTimeout(start, this.#windowMs);
    else setImmediate(start);
  }

  async #runBatch(): Promise<void> {
    if (this.#running >= this.#concurrency || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, this.#maxBatch);
    this.#running++;
    try {
      const outcomes = await this.#work(batch.map((entry) => entry.item));
      for (const entry of batch) {
        const outcome = outcomes.get(entry.item);
        if (outcome instanceof Error) entry.reject(outcome);
        else entry.resolve(outcome as R);
      }
    } catch (error) {
      for (const entry of batch) entry.reject(error as Error);
    } finally {
      this.#running--;
      this.#schedule();
    }
  }
}

/**
 * Runs at most `concurrency` tasks at once; the rest wait their turn, in order. A finished task
 * hands its slot straight to the next waiter (the count never drops while one waits), so no caller
 * arriving in between can take it: freeing the slot first and letting the waiter count itself back
 * in when it resumes let three CNI DELs run under a limit of two on Deno
 * (test/network/network-batch.test.ts, 2 runs of 6; 0 of 8 with the hand-over).
 *
 * @example
 * const limiter = new Limiter(16);
 * await Promise.all(dels.map((del) => limiter.run(() => invokePlugin(…))));
 */
export class Limiter {
  readonly #concurrency: number;
  #running = 0;
  /** Waiting tasks in arrival order from `#head` on (a queue without `shift()`, which copies the array: thousands wait in a big stop). */
  #waiting: (() => void)[] = [];
  #head = 0;

  constructor(concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`Cannot limit tasks: concurrency must be a whole number of at least 1, got ${concurrency}`);
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

  /** Tasks in progress (for tests and metrics). */
  get running(): number {
    return this.#running;
  }

  #release(): void {
    if (this.#head >= this.#waiting.length) {
      this.#running--;
      return;
    }
    const wake = this.#waiting[this.#head++] as () => void;
    if (this.#head === this.#waiting.length) {
      this.#waiting = [];
      this.#head = 0;
    } else if (this.#head >= 1_024 && this.#head * 2 >= this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    wake(); // the slot passes on: #running stays as it is
  }
}

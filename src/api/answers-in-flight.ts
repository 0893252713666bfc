/**
 * The calls whose answers are on their way back through the API thread, so that closing the
 * socket does not cut them. At shutdown the main thread lets every creation in flight (run, create,
 * start) finish before it closes the socket (`Supervisor.drain`); its answer must still cross back
 * to this thread, wait for the copy of the records to catch up, and be written to its client — and
 * the socket server's close destroys every connection. Seen on Deno: five answers of six lost. So
 * the API thread's close first waits, bounded, for the tracked calls to answer.
 *
 * @example
 * const answers = new AnswersInFlight();
 * const service = answers.track(remoteService, ["runPodSandbox"]);
 * await answers.settled({ timeoutMs: 1_000 }); // then close the socket server
 */
export class AnswersInFlight {
  readonly #calls = new Set<Promise<unknown>>();

  /** `service`, with each call of `methods` tracked until it settles; its methods run on `service` itself. */
  track<S extends object>(service: S, methods: readonly string[]): S {
    const tracked = new Set(methods);
    return new Proxy(service, {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== "function") return value;
        if (typeof key !== "string" || !tracked.has(key)) return value.bind(target);
        return (...args: unknown[]) => {
          const call = Promise.resolve(value.apply(target, args));
          this.#calls.add(call);
          const settled = () => void this.#calls.delete(call);
          call.then(settled, settled);
          return call;
        };
      },
    });
  }

  /**
   * Settles once every tracked call has, and the answers they made are handed to their sockets
   * (one turn of the event loop after), or after `timeoutMs`, whichever is first. Never rejects.
   */
  async settled(options: { timeoutMs: number }): Promise<void> {
    if (this.#calls.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeoutMs)));
    try {
      await Promise.race([Promise.allSettled(this.#calls), timedOut]);
      // The answer is written by the code awaiting the call, a few promise turns later.
      await Promise.race([new Promise<void>((resolve) => setTimeout(resolve, 0)), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}

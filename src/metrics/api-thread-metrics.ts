/** The methods the API thread answers from its copy of the records, without the main thread. */
export const replicaMethods = ["PodSandboxStatus", "ListPodSandbox", "ContainerStatus", "ListContainers"] as const;
export type ReplicaMethod = (typeof replicaMethods)[number];
/** The service's name of each (`PodService.podSandboxStatus` …). */
const methodOf = new Map<string, ReplicaMethod>(replicaMethods.map((method) => [method[0].toLowerCase() + method.slice(1), method]));

const name = "podvisor_status_request_duration_seconds";
const help = "Latency of status and list requests (PodSandboxStatus, ListPodSandbox, ContainerStatus, ListContainers) as the API thread served them from its copy of the records, never waiting for the main thread";
/** Upper bounds (seconds): an answer from memory takes microseconds; one that took 0.1 s has waited. */
const buckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * The API thread's own metrics: the latency of status and list as it serves them, from its copy
 * of the records (`src/api/status-replica.ts`), so that the promise "status never waits behind a
 * stop" can be watched in production. They live on that thread; the main thread, which serves
 * `/metrics` and the `Metrics` method, asks for their text at each scrape and appends it to its own
 * (`api-thread.ts`: `metricsText`; `Metrics.addPart`). One histogram, kept and written by hand: the
 * API thread does not load prom-client, which would add tens of milliseconds to every start.
 *
 * What is measured is the answer's making on the API thread: the copy read and filtered, which is
 * where a status would wait if it ever went to the main thread. A request that waits before the
 * thread reads it (its event loop busy applying a burst of record changes) waits outside this
 * measure: no server can time a request it has not read yet. (The event-loop delay of that thread
 * is not exported: `monitorEventLoopDelay` reports it with the timer's resolution included on Node
 * and without on Deno, and two meanings under one name would mislead.)
 */
export class ApiThreadMetrics {
  /** Per method: the cumulative count of each bucket, the sum and the count. */
  readonly #series = new Map<ReplicaMethod, { buckets: number[]; sum: number; count: number }>(
    replicaMethods.map((method) => [method, { buckets: buckets.map(() => 0), sum: 0, count: 0 }]),
  );

  /** Runs `answer` (synchronous, as the replica is), recording how long it took. */
  time<T>(method: ReplicaMethod, answer: () => T): T {
    const startedAt = performance.now();
    try {
      return answer();
    } finally {
      this.#observe(method, (performance.now() - startedAt) / 1_000);
    }
  }

  #observe(method: ReplicaMethod, seconds: number): void {
    const series = this.#series.get(method);
    if (series === undefined) return;
    buckets.forEach((bound, index) => {
      if (seconds <= bound) series.buckets[index]++;
    });
    series.sum += seconds;
    series.count++;
  }

  /**
   * `service` with its status and list methods timed (`podSandboxStatus` as PodSandboxStatus …);
   * every other method as it is. Methods run on `service` itself, so its `#private` fields work.
   */
  timeReads<S extends object>(service: S): S {
    return new Proxy(service, {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== "function") return value;
        const method = typeof key === "string" ? methodOf.get(key) : undefined;
        if (method === undefined) return value.bind(target);
        return (...args: unknown[]) => this.time(method, () => value.apply(target, args));
      },
    });
  }

  /** This thread's part of the exposition (the Prometheus text format). */
  async text(): Promise<string> {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    for (const [method, series] of this.#series) {
      buckets.forEach((bound, index) => lines.push(`${name}_bucket{le="${bound}",method="${method}"} ${series.buckets[index]}`));
      lines.push(`${name}_bucket{le="+Inf",method="${method}"} ${series.count}`, `${name}_sum{method="${method}"} ${series.sum}`, `${name}_count{method="${method}"} ${series.count}`);
    }
    return `${lines.join("\n")}\n`;
  }
}

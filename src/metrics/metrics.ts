import client from "prom-client";
import { collectProcessMetrics } from "./process-metrics.ts";
import { watchInventory } from "./inventory-metrics.ts";
import type { InventorySource } from "./inventory-metrics.ts";

/** How a sandbox stop was asked for: StopPodSandbox, StopPodSandboxes, the stop-all at shutdown, or resumed at start. */
export type SandboxStopVia = "single" | "batch" | "shutdown" | "resumed";
const stopVias: readonly SandboxStopVia[] = ["single", "batch", "shutdown", "resumed"];

/** Another part of the exposition, from elsewhere (the API thread's metrics): its text, at each scrape. */
export type MetricsPart = () => Promise<string>;

/** The kinds of host objects the leak check counts (the API's `HostObjectKind`). */
const leakKinds = ["mounts", "netns", "cgroups", "processes", "addresses", "veths", "conmon", "runtimeStates", "bundles"] as const;

/**
 * podvisor's Prometheus metrics: for every operation (`stop_pod_sandbox`, `run_pod_sandbox` …) a
 * count, a latency histogram and an error count by code; and a histogram of each stop phase.
 * One registry per daemon (not prom-client's global one), so two daemons in a test never mix.
 * Beside them: the process's own metrics (`process-metrics.ts`, the daemon's only), the inventory
 * and container exits (`inventory-metrics.ts`), each sandbox's stop result, and the parts other
 * threads serve (`addPart`: the API thread's latency of status and list).
 */
export class Metrics {
  readonly registry = new client.Registry();
  readonly #operations = new client.Counter({
    name: "podvisor_operations_total",
    help: "Operations handled, by operation",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });
  readonly #errors = new client.Counter({
    name: "podvisor_operation_errors_total",
    help: "Operations that failed, by operation and error code",
    labelNames: ["operation", "code"] as const,
    registers: [this.registry],
  });
  readonly #latency = new client.Histogram({
    name: "podvisor_operation_duration_seconds",
    help: "Latency of each operation",
    labelNames: ["operation"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #phases = new client.Histogram({
    name: "podvisor_stop_phase_duration_seconds",
    help: "Duration of each phase of a pod sandbox stop (containers-stop is signal to exit, kill included)",
    labelNames: ["phase"] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #resumedStops = new client.Counter({
    name: "podvisor_stops_resumed_total",
    help: "Pod sandbox stops an earlier daemon process left unfinished, resumed at start under their original deadline",
    registers: [this.registry],
  });
  readonly #restored = new client.Counter({
    name: "podvisor_containers_restored_total",
    help: "Containers found at start that an earlier daemon process ran: adopted (running) or exited while it was down",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly #hostChecks = new client.Counter({
    name: "podvisor_host_checks_total",
    help: "Leak checks run (CheckHost and the periodic check), by whether they repaired",
    labelNames: ["repair"] as const,
    registers: [this.registry],
  });
  readonly #hostCheckFailures = new client.Counter({
    name: "podvisor_host_check_failures_total",
    help: "Leak checks that could not finish (the host could not be read)",
    registers: [this.registry],
  });
  readonly #leaks = new client.Gauge({
    name: "podvisor_leaks",
    help: "Leaks the last leak check found on the host, by kind (mounts, netns, cgroups, processes)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly #leaksFound = new client.Counter({
    name: "podvisor_leaks_found_total",
    help: "Leaks found on the host, by kind, summed over every check (a leak found by two checks counts twice)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly #leaksRemoved = new client.Counter({
    name: "podvisor_leaks_removed_total",
    help: "Leaks a leak check removed from the host, by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly #leakRemovalFailures = new client.Counter({
    name: "podvisor_leak_removal_failures_total",
    help: "Leaks a leak check tried to remove and could not, by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  readonly #sandboxStops = new client.Counter({
    name: "podvisor_sandbox_stops_total",
    help: "Pod sandbox stops by result (ok, failed) and how each was asked for (single: StopPodSandbox; batch: StopPodSandboxes, each sandbox of it; shutdown: the stop-all at SIGTERM; resumed: an earlier process's unfinished stop, at start)",
    labelNames: ["result", "via"] as const,
    registers: [this.registry],
  });
  readonly #parts = new Set<MetricsPart>();

  countResumedStops(sandboxes: number): void {
    this.#resumedStops.inc(sandboxes);
  }

  countRestored(outcome: "adopted" | "exited-while-down" | "failed", containers: number): void {
    if (containers > 0) this.#restored.inc({ outcome }, containers);
  }

  constructor() {
    // Every series exists from the start at 0, so a scrape before the first leak still shows them.
    for (const kind of leakKinds) {
      for (const metric of [this.#leaksFound, this.#leaksRemoved, this.#leakRemovalFailures]) metric.inc({ kind }, 0);
      this.#leaks.set({ kind }, 0);
    }
    this.#hostCheckFailures.inc(0);
    for (const via of stopVias) for (const result of ["ok", "failed"]) this.#sandboxStops.inc({ result, via }, 0);
  }

  /** Counts the result of each sandbox of a stop (a batch's: one per sandbox it named). */
  countSandboxStops(via: SandboxStopVia, results: readonly { ok: boolean }[]): void {
    for (const { ok } of results) this.#sandboxStops.inc({ result: ok ? "ok" : "failed", via });
  }

  /** Adds the process's own metrics and `podvisor_build_info` (see `process-metrics.ts`); the daemon calls it once. */
  collectProcessMetrics(options: { backend: string }): void {
    collectProcessMetrics(this.registry, options);
  }

  /** Counts sandboxes and containers by state at each scrape, and container exits as they are recorded (see `inventory-metrics.ts`). */
  watchInventory(source: InventorySource): () => void {
    return watchInventory(this.registry, source);
  }

  /**
   * Appends `part` to every exposition from now on until the returned function is called. Its
   * metric names must be its own (two parts with one name would break the exposition). A part that
   * fails is left out of that scrape, and the rest is served.
   */
  addPart(part: MetricsPart): () => void {
    this.#parts.add(part);
    return () => void this.#parts.delete(part);
  }

  /** Records one finished leak check: its leaks, removals and removal failures, by kind. */
  observeHostCheck(report: { repair: boolean; kinds: Record<string, { leaks: unknown[]; removed: unknown[]; failed: unknown[] }> }): void {
    this.#hostChecks.inc({ repair: String(report.repair) });
    for (const [kind, found] of Object.entries(report.kinds)) {
      this.#leaks.set({ kind }, found.leaks.length);
      this.#leaksFound.inc({ kind }, found.leaks.length);
      this.#leaksRemoved.inc({ kind }, found.removed.length);
      this.#leakRemovalFailures.inc({ kind }, found.failed.length);
    }
  }

  /** Records a leak check that could not finish. */
  observeHostCheckFailure(): void {
    this.#hostCheckFailures.inc();
  }

  /** Reports the actors hosted by each worker thread, read when metrics are scraped. */
  watchActors(actorsPerWorker: () => number[]): void {
    new client.Gauge({
      name: "podvisor_actors",
      help: "Actors hosted by each worker thread",
      labelNames: ["worker"] as const,
      registers: [this.registry],
      collect() {
        actorsPerWorker().forEach((count, worker) => this.set({ worker: String(worker) }, count));
      },
    });
  }

  /**
   * Runs `operation`, recording its latency, and its error code if it throws.
   *
   * @example
   * await metrics.time("stop_pod_sandbox", () => stopPodSandbox(context, id));
   */
  async time<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    this.#operations.inc({ operation });
    try {
      return await run();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      this.#errors.inc({ operation, code: typeof code === "string" ? code : error instanceof TypeError ? "INVALID_ARGUMENT" : "INTERNAL" });
      throw error;
    } finally {
      this.#latency.observe({ operation }, (performance.now() - startedAt) / 1_000);
    }
  }

  /** Records the phases of one stop (durations in ms, as the stop reports them). */
  observePhases(phases: Record<string, number>): void {
    for (const [phase, ms] of Object.entries(phases)) this.#phases.observe({ phase }, ms / 1_000);
  }

  /** The Prometheus text exposition: this registry's, then each part's. */
  /** The whole exposition; scrapes that come while one is being made share it. */
  text(): Promise<string> {
    this.#text ??= (async () => {
      const texts = await Promise.all([this.registry.metrics(), ...[...this.#parts].map((part) => part().catch(() => ""))]);
      return texts.map((text) => (text === "" || text.endsWith("\n") ? text : `${text}\n`)).join("");
    })().finally(() => {
      this.#text = undefined;
    });
    return this.#text;
  }

  #text: Promise<string> | undefined;

  get contentType(): string {
    return this.registry.contentType;
  }
}

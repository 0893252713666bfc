import client from "prom-client";
import type { Metric, Registry } from "prom-client";
import { describeVersion } from "../version.ts";

/**
 * Default metrics left out: gauges named `_total`, which `promtool check metrics` reports ("non-counter
 * metrics should not have "_total" suffix"). What they sum stays readable, by kind: `nodejs_active_handles{type}`,
 * `nodejs_active_requests{type}`, `nodejs_active_resources{type}`.
 */
const notLintClean = new Set(["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]);

/**
 * The metrics of the daemon's process as a whole, into `registry`: prom-client's default ones,
 * but three (`notLintClean`), unprefixed as every exporter names them (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `process_open_fds`, `nodejs_eventloop_lag_seconds` — the main thread's —, `nodejs_heap_size_used_bytes` …),
 * and `podvisor_build_info{version,runtime,runtime_version,backend} 1`.
 *
 * On Deno the default metrics read (seen on Deno 2.9: CPU, memory, file descriptors, event loop
 * lag, heap) but for two: `nodejs_gc_duration_seconds` stays without samples (Deno reports no GC
 * events to `perf_hooks`), and `nodejs_version_info` names the Node version Deno is compatible with,
 * not Deno's: `podvisor_build_info`'s `runtime` and `runtime_version` say which runtime it is.
 *
 * Called by the daemon only, once per process: the event-loop monitor and the GC observer it
 * starts belong to the process, not to one of the supervisors a test may start in it.
 */
export function collectProcessMetrics(registry: Registry, options: { backend: string }): void {
  const defaults = new client.Registry();
  client.collectDefaultMetrics({ register: defaults });
  // The metric objects themselves (typed as their description only): each may sit in two registries.
  for (const metric of defaults.getMetricsAsArray()) if (!notLintClean.has(metric.name)) registry.registerMetric(metric as unknown as Metric);
  const { version, runtime, runtimeVersion } = describeVersion();
  const buildInfo = new client.Gauge({
    name: "podvisor_build_info",
    help: "Always 1: the podvisor version, the runtime it runs on and that runtime's version, and the container runtime backend",
    labelNames: ["version", "runtime", "runtime_version", "backend"] as const,
    registers: [registry],
  });
  buildInfo.set({ version, runtime, runtime_version: runtimeVersion, backend: options.backend }, 1);
}

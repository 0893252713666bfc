/**
 * The daemon process: the supervisor, restored from its root before anything is answered; a leak
 * check, then the socket API; the metrics endpoint; the periodic leak check; and the shutdown on
 * SIGTERM/SIGINT (every sandbox stopped in parallel, unless `liveRestore` leaves the workloads running).
 */
import { Supervisor } from "../supervisor/supervisor.ts";
import type { SupervisorOptions } from "../supervisor/supervisor.ts";
import { startApiThread } from "../src/api/api-thread.ts";
import type { SocketServerOptions } from "../src/api/socket-server.ts";
import { getLogger } from "../src/log/logger.ts";
import { startMetricsServer } from "../src/metrics/metrics-server.ts";
import { logPodNetwork } from "../src/network/network-describe.ts";
import { startCri } from "../src/cri/cri-start.ts";
import type { CriServer } from "../src/cri/cri-server.ts";
import { defaultLeakCheckIntervalMs, scheduleHostChecks, validateLeakCheckInterval } from "./host-check-schedule.ts";

const log = getLogger("daemon");

export interface DaemonOptions extends SupervisorOptions, Partial<Omit<SocketServerOptions, "service">> {
  /** On SIGTERM/SIGINT leave every workload running (the next start finds them again). */
  liveRestore?: boolean;
  /** The deadline budget of the stop-all at shutdown; default 10 s. */
  stopTimeoutMs?: number;
  /** `127.0.0.1:PORT` to serve Prometheus metrics over HTTP too. */
  metricsAddress?: string;
  /** Serve no socket (for code that drives the supervisor itself). */
  noSocket?: boolean;
  /** How often the host is checked for leaks, and they are removed; default 60 s, 0: only once, at start. */
  leakCheckIntervalMs?: number;
  /** The CRI v1 gRPC endpoint's unix socket (`src/cri/`); absent or "": not served. Never on Deno (`src/cri/cri-start.ts`). */
  criSocket?: string;
}

/** Why the daemon shut down, and whether it wants a new process of itself started in its place. */
export interface DaemonExit {
  reason: string;
  /**
   * A worker thread that could not be stopped (a hung worker on Deno) burns a core until the process
   * ends: the daemon finished its stops in flight, then shut down leaving every workload running (a
   * live restore), for the process started in its place to adopt them (`src/cli/daemon-command.ts`).
   */
  restart: boolean;
}

export interface Daemon {
  supervisor: Supervisor;
  socketPath?: string;
  metricsPort?: number;
  /** Resolves once the daemon has shut down (after a signal, `shutdown()`, or an unrecoverable worker). */
  closed: Promise<DaemonExit>;
  shutdown(reason: string): Promise<void>;
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const leakCheckIntervalMs = options.leakCheckIntervalMs ?? defaultLeakCheckIntervalMs;
  validateLeakCheckInterval(leakCheckIntervalMs);
  const supervisor = await Supervisor.start(options);
  supervisor.metrics.collectProcessMetrics({ backend: supervisor.backendName });
  await logPodNetwork(options.network);
  // The start-up leak check runs before the socket serves: no request is in flight yet, so what
  // no record owns is left over from an earlier daemon process (a crash in the middle of a run,
  // a failed cleanup) and is removed at once, and no client ever sees a host that does not match
  // the records. It costs the start a few milliseconds when there is nothing to remove.
  await checkAtStart(supervisor);
  const schedule = scheduleHostChecks(supervisor, { intervalMs: leakCheckIntervalMs });
  let socket: Awaited<ReturnType<typeof startApiThread>> | undefined;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  let cri: CriServer | undefined;
  try {
    socket = options.noSocket || options.path === undefined ? undefined : await startApiThread({ ...options, path: options.path, service: supervisor });
    // The API thread measures the status and list it serves; its numbers join every scrape.
    const apiThread = socket;
    if (apiThread !== undefined) supervisor.metrics.addPart(() => apiThread.metricsText());
    metricsServer = options.metricsAddress === undefined ? undefined : await startMetricsServer(options.metricsAddress, supervisor.metrics);
    cri = await startCri(options.criSocket, supervisor);
  } catch (error) {
    // A daemon half started (a metrics port in use, say) would serve its socket and never exit:
    // undo what started, leave every workload as it is (a next daemon adopts it), and fail.
    await schedule.stop();
    await socket?.close();
    await metricsServer?.close();
    await supervisor.shutdown({ stopAll: false });
    throw error;
  }
  let closing: Promise<void> | undefined;
  let resolveClosed: (exit: DaemonExit) => void = () => {};
  const closed = new Promise<DaemonExit>((resolve) => (resolveClosed = resolve));
  const shutdown = (reason: string, restart = false): Promise<void> => {
    closing ??= (async () => {
      const stopAll = !options.liveRestore && !restart;
      log.info("Shutting down", { reason, stopAll, restart });
      // First no new creation, and those in flight settled (finished or undone), the socket still
      // serving: their clients get their answers, and the stop-all below includes what they made.
      await supervisor.drain();
      await schedule.stop();
      await socket?.close();
      await cri?.close();
      // Metrics are served until the stop-all is over: a scrape meanwhile sees its progress
      // (podvisor_sandbox_stops_total{via="shutdown"}).
      const results = await supervisor.shutdown({ stopAll, timeoutMs: options.stopTimeoutMs }).finally(() => metricsServer?.close());
      const failed = results.filter((result) => !result.ok);
      if (failed.length > 0) log.error("Some sandboxes did not stop at shutdown", { failed: failed.map((r) => r.podSandboxId) });
      log.info("Shut down", { reason, stopped: results.length - failed.length, failed: failed.length });
      resolveClosed({ reason, restart });
    })();
    return closing;
  };
  supervisor.onUnrecoverableWorker((lost) => {
    log.error("A worker thread cannot be stopped (it hangs, and this runtime cannot end it): restarting the daemon once the stops in flight are done; workloads keep running", { workerIndex: lost.workerIndex });
    void supervisor.stopsSettled().then(() => shutdown(`worker ${lost.workerIndex} unrecoverable`, true));
  });
  // Signal handlers belong on the main thread only (Deno also delivers signals to listening workers).
  // `on`, not `once`: execa (signal-exit) re-raises a signal that has no other listener left, which
  // would kill the daemon in the middle of its shutdown. A second signal joins the first shutdown.
  const onSignal = (signal: NodeJS.Signals) => void shutdown(signal);
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, onSignal);
  // Once shut down, a signal is the process's again (its default ends it): a daemon embedded in a
  // longer-lived process (a test runner) must not swallow the signal that ends that process.
  void closed.then(() => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.off(signal, onSignal);
  });
  log.info("Daemon ready", { root: supervisor.root, socket: socket?.path, cri: cri?.path, liveRestore: options.liveRestore ?? false });
  return { supervisor, socketPath: socket?.path, metricsPort: metricsServer?.port, closed, shutdown };
}

/** The leak check at start, with repair; a host that cannot be read is logged, and the daemon starts all the same. */
async function checkAtStart(supervisor: Supervisor): Promise<void> {
  try {
    const report = await supervisor.checkHost({ repair: true });
    if (report.leaks > 0) log.warn("Removed what an earlier daemon process left on the host", { leaks: report.leaks, removed: report.removed, failed: report.failed });
  } catch (error) {
    log.error("Cannot check the host for leaks at start", { error });
  }
}

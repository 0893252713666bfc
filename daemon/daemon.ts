/**
 * The daemon process: the supervisor, restored from its root, and the shutdown on SIGTERM/SIGINT
 * (every sandbox stopped in parallel, unless `liveRestore` leaves the workloads running).
 *
 * NOT YET: the unix-socket API (issue "The unix-socket API, the podvisor CLI, and metrics"). Until
 * it lands the daemon runs and stops sandboxes only for code that holds its Supervisor.
 */
import { Supervisor } from "../actors/supervisor/supervisor.ts";
import type { SupervisorOptions } from "../actors/supervisor/supervisor.ts";
import { getLogger } from "../src/log/logger.ts";

const log = getLogger("daemon");

export interface DaemonOptions extends SupervisorOptions {
  /** On SIGTERM/SIGINT leave every workload running (the next start finds them again). */
  liveRestore?: boolean;
  /** The deadline budget of the stop-all at shutdown; default 10 s. */
  stopTimeoutMs?: number;
}

export interface Daemon {
  supervisor: Supervisor;
  /** Resolves once the daemon has shut down (after a signal, or `shutdown()`). */
  closed: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const supervisor = await Supervisor.start(options);
  let closing: Promise<void> | undefined;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      const stopAll = !options.liveRestore;
      log.info("Shutting down", { reason, stopAll });
      const results = await supervisor.shutdown({ stopAll, timeoutMs: options.stopTimeoutMs });
      const failed = results.filter((result) => !result.ok);
      if (failed.length > 0) log.error("Some sandboxes did not stop at shutdown", { failed: failed.map((r) => r.podSandboxId) });
      log.info("Shut down", { reason, stopped: results.length - failed.length, failed: failed.length });
      resolveClosed();
    })();
    return closing;
  };
  // Signal handlers belong on the main thread only (Deno also delivers signals to listening workers).
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => void shutdown(signal));
  log.info("Daemon ready", { root: supervisor.root, liveRestore: options.liveRestore ?? false });
  return { supervisor, closed, shutdown };
}

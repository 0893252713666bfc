import { homedir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { configureLogging, logLevels } from "../log/logger.ts";
import type { LogFormat, LogLevel } from "../log/logger.ts";

interface DaemonFlags {
  root: string;
  workers?: string;
  stopTimeout: string;
  liveRestore?: boolean;
  logLevel: LogLevel;
  logFormat?: LogFormat;
}

/** The state root: `/var/lib/podvisor` as root, the XDG data directory otherwise. */
export function defaultRoot(): string {
  if (process.getuid?.() === 0) return "/var/lib/podvisor";
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "podvisor");
}

export function addDaemonCommand(program: Command): void {
  program
    .command("daemon")
    .description("run the daemon: restore every sandbox under --root, stop them all on SIGTERM/SIGINT (not yet: the socket API)")
    .option("--root <dir>", "state root; everything the daemon creates lives under it", defaultRoot())
    .option("--workers <n>", "worker threads (default: available cores)")
    .option("--stop-timeout <seconds>", "time budget of the stop-all at shutdown", "10")
    .option("--live-restore", "on SIGTERM/SIGINT leave workloads running")
    .option("--log-level <level>", `one of ${logLevels.join(", ")}`, "info")
    .option("--log-format <format>", "json or pretty (default: pretty on a terminal, json otherwise)")
    .action(async (flags: DaemonFlags) => {
      configureLogging({ level: flags.logLevel, format: flags.logFormat });
      const workers = flags.workers === undefined ? undefined : positiveInteger(flags.workers, "--workers");
      const stopTimeoutMs = positiveInteger(flags.stopTimeout, "--stop-timeout") * 1_000;
      // The daemon composes the supervisor (in actors/), so it is loaded by URL, not imported by src/.
      const { startDaemon } = await import(new URL("../../daemon/daemon.ts", import.meta.url).href) as typeof import("../../daemon/daemon.ts");
      const daemon = await startDaemon({ root: flags.root, workers, stopTimeoutMs, liveRestore: flags.liveRestore });
      await daemon.closed;
      process.exit(0);
    });
}

function positiveInteger(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new RangeError(`Cannot start the daemon: ${flag} must be a whole number, got "${value}"`);
  return number;
}

/**
 * The one way src/host runs a host tool (`mount`, `umount`, `ip`, `unshare`): through the command
 * runner (command-runner.ts: forked from a small process, not from the daemon), with a failure
 * turned into a {@link HostCommandError} that says what could not be done.
 */
import { CodedError } from "../errors/coded-error.ts";
import { runThroughRunner } from "./command-runner.ts";
import type { RunnerOutcome } from "./command-runner.ts";

/** What a host command reported, whether or not it succeeded. */
export interface HostCommandResult {
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  failed: boolean;
  timedOut: boolean;
  isCanceled: boolean;
  durationMs: number;
  /** A one-line summary of why the command failed (in execa's words); empty when it succeeded. */
  shortMessage: string;
}

/** Options of {@link runHostCommand}. */
export interface HostCommandOptions {
  /** What the command is for, as it reads after "Cannot " in an error message (`unmount /x`). */
  action: string;
  /** Written to the command's standard input (for `ip -batch -`). */
  input?: string;
  /** Aborting it kills the command with SIGKILL. */
  signal?: AbortSignal;
  /** Resolve with the failed result instead of throwing {@link HostCommandError}. */
  reject?: boolean;
}

/** A host command failed; the fields are execa's result, the message names the action. */
export class HostCommandError extends CodedError {
  readonly result: HostCommandResult;

  /**
   * The message ends with the last line of stderr, or with the last one that mentions `about` (for
   * a command given many paths or names, where each failure has its own line).
   */
  constructor(action: string, result: HostCommandResult, options?: { about?: string }) {
    const lines = result.stderr.split("\n").filter((line) => line.trim() !== "");
    const about = options?.about;
    const why = (about === undefined ? undefined : lines.findLast((line) => line.includes(about))) ?? lines.at(-1) ?? result.shortMessage;
    super("HOST_COMMAND_FAILED", `Cannot ${action}: ${why}`, { details: result });
    this.name = "HostCommandError";
    this.result = result;
  }
}

/**
 * Runs `file` with `args` and resolves with its result; throws {@link HostCommandError} when it
 * fails (non-zero exit, signal, spawn error, cancelled), unless `reject: false`.
 *
 * @example
 * await runHostCommand("umount", ["-l", "/x"], { action: "unmount /x" });
 */
export async function runHostCommand(
  file: string,
  args: readonly string[],
  options: HostCommandOptions,
): Promise<HostCommandResult> {
  const command = [file, ...args].join(" ");
  const startedAt = performance.now();
  const outcome = await runThroughRunner(file, args, { input: options.input, signal: options.signal }).catch((error: unknown) => ({
    exitCode: undefined, signal: undefined, stdout: "", stderr: "", spawnError: (error as Error).message,
  }));
  const isCanceled = options.signal?.aborted === true;
  const failed = outcome.spawnError !== undefined || outcome.exitCode !== 0;
  const result: HostCommandResult = {
    command,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    stdout: outcome.stdout.replace(/\n$/, ""),
    stderr: outcome.stderr.replace(/\n$/, ""),
    failed,
    timedOut: false,
    isCanceled,
    durationMs: performance.now() - startedAt,
    shortMessage: failed ? shortMessage(command, outcome, isCanceled) : "",
  };
  if (result.failed && options.reject !== false) throw new HostCommandError(options.action, result);
  return result;
}

/** One line on why a command failed, in execa's words. */
function shortMessage(command: string, outcome: RunnerOutcome, isCanceled: boolean): string {
  if (outcome.spawnError !== undefined) return `Command failed to start (${outcome.spawnError}): ${command}`;
  if (isCanceled) return `Command was canceled: ${command}`;
  if (outcome.signal !== undefined) return `Command was killed with ${outcome.signal}: ${command}`;
  return `Command failed with exit code ${outcome.exitCode}: ${command}`;
}

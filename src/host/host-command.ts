/**
 * The one way src/host runs a host tool (`mount`, `umount`, `ip`, `unshare`): through execa, with
 * a failure turned into a {@link HostCommandError} that says what could not be done.
 */
import { execa } from "execa";
import { CodedError } from "../errors/coded-error.ts";

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
  /** Execa's one-line summary of why the command failed; empty when it succeeded. */
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
  const outcome = await execa(file, args, {
    input: options.input,
    stdin: options.input === undefined ? "ignore" : "pipe",
    cancelSignal: options.signal,
    // On Deno execa's SIGTERM-then-SIGKILL escalation never fires, so go straight to SIGKILL.
    killSignal: "SIGKILL",
    forceKillAfterDelay: false,
    reject: false,
    env: { LC_ALL: "C" },
  });
  const result: HostCommandResult = {
    command: outcome.command,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    stdout: String(outcome.stdout ?? ""),
    stderr: String(outcome.stderr ?? ""),
    failed: outcome.failed,
    timedOut: outcome.timedOut,
    isCanceled: outcome.isCanceled,
    durationMs: outcome.durationMs,
    shortMessage: outcome.failed ? String(outcome.shortMessage ?? "") : "",
  };
  if (result.failed && options.reject !== false) throw new HostCommandError(options.action, result);
  return result;
}

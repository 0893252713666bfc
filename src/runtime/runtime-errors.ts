/**
 * The runtime's errors, each a `CodedError` matched on `code`: `NOT_FOUND`, `ALREADY_EXISTS`,
 * `FAILED_PRECONDITION`, `START_FAILED`, `NOT_IMPLEMENTED`, and `DEADLINE_EXCEEDED` for a wait whose
 * deadline passed before the backend reported the container stopped.
 */
import { raceSignals } from "../async/race.ts";
import { CodedError, DeadlineExceededError } from "../errors/coded-error.ts";

export function containerNotFound(id: string, backend: string): CodedError {
  return new CodedError("NOT_FOUND", `Cannot find container "${id}": unknown to the ${backend} runtime`, {
    details: { id },
  });
}

export function failedPrecondition(message: string, id: string): CodedError {
  return new CodedError("FAILED_PRECONDITION", message, { details: { id } });
}

/**
 * What a wait for "stopped" rejects with: a {@link DeadlineExceededError} when the caller's signal
 * timed out, the caller's own reason when it aborted otherwise, the error itself in any other case.
 */
export function normalizeWaitError(id: string, error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted !== true || error !== signal.reason) return error;
  if ((error as Error | undefined)?.name !== "TimeoutError") return error;
  return new DeadlineExceededError(
    `Cannot wait for container "${id}" to stop: the runtime did not report it stopped before the deadline`,
    { details: { id } },
  );
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts (no signal: the
 * promise itself). One of the async helpers of `src/async/race.ts`, for one optional signal.
 *
 * @example
 * const exit = await abortable(subprocess, signal);
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return signal === undefined ? promise : raceSignals(promise, [signal]);
}

import { CodedError } from "./coded-error.ts";

/** A stop that did not finish: carries each container's error; the sandbox stays not-stopped for a retry. */
export class StopIncompleteError extends AggregateError {
  readonly code = "STOP_INCOMPLETE";
  readonly details: { podSandboxId: string; errors: { code: string; message: string }[] };

  constructor(podSandboxId: string, errors: Error[]) {
    super(errors, `Cannot stop pod sandbox ${podSandboxId}: ${errors.length} container(s) did not stop (${errors[0]?.message}); retry the stop`);
    this.name = "StopIncompleteError";
    this.details = {
      podSandboxId,
      errors: errors.map((error) => ({ code: (error as { code?: string }).code ?? "INTERNAL", message: error.message })),
    };
  }
}

/**
 * The error of a stop step that failed (a host step, or a record that could not be written): the
 * target stays not-stopped, every step is idempotent, so the caller retries the stop. `details`
 * names the step and the system's reason (`ENOSPC`, `EBUSY` …) when there is one.
 *
 * @example
 * throw stopStepFailed(`pod sandbox ${id}`, "netns-removal", error, { podSandboxId: id });
 */
export function stopStepFailed(target: string, step: string, error: unknown, details: Record<string, unknown> = {}): CodedError {
  return new CodedError("STOP_INCOMPLETE", `Cannot stop ${target}: ${step} failed: ${(error as Error).message}; retry the stop`, {
    cause: error,
    details: { ...details, step, reason: (error as { code?: string }).code },
  });
}

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

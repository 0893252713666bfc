/**
 * The errors a client command ends with. Each is shown as one line on stderr,
 * `podvisor: <message>`, and makes the command exit with status 1.
 */

/** A failure found by the client itself: a bad argument, an id that matches nothing, no daemon. */
export class CliError extends Error {
  override name = "CliError";
}

/** An error the daemon answered with; `code` is its `error.data.code` (`NOT_FOUND`, `STOP_INCOMPLETE` …). */
export class ApiError extends Error {
  override name = "ApiError";
  readonly code: string;
  readonly details: unknown;

  constructor(message: string, options: { code: string; details?: unknown }) {
    super(message);
    this.code = options.code;
    this.details = options.details;
  }
}

/**
 * One line that says what failed: `cannot <action>: <why> (<CODE>)`. A daemon message that already
 * begins with "Cannot <the start of the action>:" is not repeated.
 *
 * @example
 * describeFailure("stop pod sandbox abc", new ApiError("Cannot stop pod sandbox abc: 1 container(s) did not stop", { code: "STOP_INCOMPLETE" }));
 * // "cannot stop pod sandbox abc: 1 container(s) did not stop (STOP_INCOMPLETE)"
 */
export function describeFailure(action: string, error: unknown): string {
  const code = error instanceof ApiError ? ` (${error.code})` : "";
  return `cannot ${action}: ${describeReason(action, error)}${code}`;
}

/** The "why" of {@link describeFailure}, without the action and the code. */
export function describeReason(action: string, error: unknown): string {
  const message = oneLine(error instanceof Error ? error.message : String(error));
  const head = /^cannot ([^:]+): /i.exec(message);
  const repeated = head !== null && `${action} `.toLowerCase().startsWith(`${head[1]} `.toLowerCase());
  return lowerFirst(repeated ? message.slice(head[0].length) : message);
}

/** The line `podvisor: …` printed for an error that ends a command. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${lowerFirst(oneLine(error.message))} (${error.code})`;
  if (error instanceof Error) return lowerFirst(oneLine(error.message));
  return oneLine(String(error));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** "Cannot find …" → "cannot find …", but "ID …" and "JSON …" stay as they are. */
function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text;
}

/**
 * Awaits `promise`; a rejection becomes a {@link CliError} whose one line says which action failed.
 *
 * @example
 * await attempt(`start container ${id}`, client.call("StartContainer", { containerId: id }));
 */
export async function attempt<T>(action: string, promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw new CliError(describeFailure(action, error), { cause: error });
  }
}

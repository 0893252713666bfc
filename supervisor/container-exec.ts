import { CodedError } from "../src/errors/coded-error.ts";
import type { ExecOptions, ExecResult } from "../src/runtime/runtime-backend.ts";
import type { SupervisorContext } from "./context.ts";
import { findContainer } from "./lookup.ts";

/** The longest an exec may be given: a day, like a stop (a longer timer overflows into 1 ms). */
const maxExecTimeoutMs = 86_400_000;

/**
 * Runs a command in a running container through the backend's `exec` (CRI `ExecSync`): its output
 * and exit code. A backend without `exec` cannot: UNIMPLEMENTED, said so.
 */
export async function execInContainer(context: SupervisorContext, id: string, command: unknown, options: ExecOptions = {}): Promise<ExecResult> {
  const record = findContainer(context, id);
  if (!Array.isArray(command) || command.length === 0 || command.some((arg) => typeof arg !== "string" || arg.includes("\0"))) {
    throw new TypeError("Cannot exec in container: the command must be a non-empty array of strings without NUL");
  }
  const { timeoutMs } = options;
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > maxExecTimeoutMs)) {
    throw new RangeError("Cannot exec in container: the timeout must be 0 to 86400 seconds");
  }
  if (record.state !== "running") throw new CodedError("FAILED_PRECONDITION", `Cannot exec in container ${id}: it is ${record.state}`);
  const { backend } = context;
  if (backend.exec === undefined) throw new CodedError("UNIMPLEMENTED", `Cannot exec in container ${id}: the ${backend.name} backend has no exec`);
  return backend.exec(id, command as string[], options);
}

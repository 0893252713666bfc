/** RuntimeService's ExecSync: a command in a running container, through the supervisor's exec. */
import { CriError } from "./cri-errors.ts";
import type { Handler } from "./cri-service.ts";
import { visible } from "./container-handlers.ts";
import { requiredId } from "./sandbox-handlers.ts";

/** `timeout` seconds (0: none); past it the command is killed and the call is DEADLINE_EXCEEDED. A cancelled call kills it too. */
const execSync: Handler = async ({ service }, request, call) => {
  const id = requiredId(request.container_id, "exec in container", "container_id");
  if (service.execSync === undefined) throw new CriError("UNIMPLEMENTED", "Cannot exec in container: this daemon has no exec");
  const timeout = Number(request.timeout ?? 0);
  if (!Number.isSafeInteger(timeout) || timeout < 0 || timeout > 86_400) throw new CriError("INVALID_ARGUMENT", "Cannot exec in container: timeout must be 0 to 86400 seconds");
  visible(service.containerStatus(id));
  const cancelled = new AbortController();
  call.once("cancelled", () => cancelled.abort(new CriError("DEADLINE_EXCEEDED", "Cannot exec in container: the call was cancelled")));
  const result = await service.execSync(id, request.cmd ?? [], { timeoutMs: timeout * 1_000, signal: cancelled.signal });
  if (result.timedOut) throw new CriError("DEADLINE_EXCEEDED", `Cannot exec in container ${id}: command ${JSON.stringify(request.cmd)} timed out after ${timeout} s`);
  return { stdout: Buffer.from(result.stdout), stderr: Buffer.from(result.stderr), exit_code: result.exitCode };
};

export const execHandlers: Record<string, Handler> = { ExecSync: execSync };

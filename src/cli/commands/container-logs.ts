import { InvalidArgumentError } from "commander";
import type { Command } from "commander";
import type { ContainerStatus } from "../../api/api-types.ts";
import { ApiError, attempt } from "../cli-error.ts";
import type { ApiClient } from "../client.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { copyToEnd, openLog, tailOffset } from "../log-file.ts";
import { resolveContainerIds } from "../resolve-id.ts";

/** How often `-f` looks for more output and asks whether the container still runs. */
const followPollMs = 200;

interface LogsFlags {
  follow?: boolean;
  tail?: number;
}

/**
 * `podvisor logs [-f] [--tail N] ID`: a container's output (stdout and stderr, as it wrote them).
 * The daemon's ContainerStatus names the log file, which this command reads itself: it runs on the
 * daemon's host, as root, as the daemon does. With `-f` it keeps printing what the container
 * writes until it exits (or is removed), or until Ctrl-C.
 */
export function addContainerLogsCommand(program: Command): void {
  clientCommand(program, "logs", "print a container's output (stdout and stderr); -f follows it until the container exits")
    .argument("<id>", "a container id, or a unique prefix of it")
    .option("-f, --follow", "keep printing what it writes until it exits (or Ctrl-C)")
    .option("--tail <lines>", "only the last LINES lines (default: all)", parseLineCount)
    .action((prefix: string, flags: LogsFlags, command: Command) => withClient(command, async ({ client }) => {
      const [containerId] = await resolveContainerIds(client, [prefix]);
      const status = await attempt(`read the logs of container ${containerId}`, containerStatus(client, containerId));
      // A reader that leaves (`| head`) ends the command quietly, as for any filter.
      process.stdout.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "EPIPE") process.exit(0);
        throw error;
      });
      await printLog(client, status, flags);
    }));
}

async function printLog(client: ApiClient, status: ContainerStatus, flags: LogsFlags): Promise<void> {
  let file = await openLog(status.logPath);
  let position = 0;
  try {
    if (file !== undefined) {
      if (flags.tail !== undefined) position = await tailOffset(file, (await file.stat()).size, flags.tail);
      position = await copyToEnd(file, position, process.stdout);
    }
    if (!flags.follow) return;
    for (;;) {
      // Asked before the read: what an exited container wrote is all in the file by then.
      const current = await containerStatus(client, status.id).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === "NOT_FOUND") return undefined; // removed: nothing more comes
        throw error;
      });
      file ??= await openLog(status.logPath);
      if (file !== undefined) position = await copyToEnd(file, position, process.stdout);
      if (current === undefined || current.state === "exited") return;
      await new Promise((resolve) => setTimeout(resolve, followPollMs));
    }
  } finally {
    await file?.close();
  }
}

async function containerStatus(client: ApiClient, containerId: string): Promise<ContainerStatus> {
  const { status } = await client.call<{ status: ContainerStatus }>("ContainerStatus", { containerId });
  return status;
}

function parseLineCount(value: string): number {
  const lines = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(lines)) throw new InvalidArgumentError("Expected a whole number of lines, 0 or more.");
  return lines;
}

import type { Command } from "commander";
import type { ContainerStatus } from "../../api/api-types.ts";
import { CliError } from "../cli-error.ts";
import type { ApiClient } from "../client.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { forEachId } from "../each-id.ts";
import { resolveContainerIds } from "../resolve-id.ts";

// What --force allows a running container before it is killed: none, as with `docker rm -f`.
const forceStopTimeoutMs = 0;

/**
 * `podvisor rm [--force] ID…`: removes containers. A running one is refused unless `--force`, which
 * stops it first (the daemon itself would kill it silently; the client asks for intent, as crictl does).
 */
export function addContainerRemoveCommand(program: Command): void {
  clientCommand(program, "rm", "remove one or more containers")
    .argument("<id...>", "container ids, or unique prefixes of them")
    .option("-f, --force", "stop a running container (killing it at once), then remove it")
    .action((prefixes: string[], flags: { force?: boolean }, command: Command) => withClient(command, async ({ client, output }) => {
      const ids = await resolveContainerIds(client, prefixes);
      await forEachId(ids, (id) => removeContainer(client, id, flags.force === true), { output, action: (id) => `remove container ${id}` });
    }));
}

async function removeContainer(client: ApiClient, containerId: string, force: boolean): Promise<void> {
  const { status } = await client.call<{ status: ContainerStatus }>("ContainerStatus", { containerId });
  if (status.state === "running") {
    if (!force) throw new CliError("it is running; stop it first, or use --force");
    await client.call("StopContainer", { containerId, timeoutMs: forceStopTimeoutMs });
  }
  await client.call("RemoveContainer", { containerId });
}

import type { Command } from "commander";
import type { ContainerStatus } from "../../api/api-types.ts";
import { CliError } from "../cli-error.ts";
import type { ApiClient } from "../client.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { forEachId } from "../each-id.ts";
import { resolveContainerIds, validateIdsOrAll } from "../resolve-id.ts";
import { allContainers } from "./container-stop.ts";

// What --force allows a running container before it is killed: none, as with `docker rm -f`.
const forceStopTimeoutMs = 0;

/**
 * `podvisor rm [--force] (ID… | --all)`: removes containers. A running one is refused unless
 * `--force`, which stops it first (the daemon itself would kill it silently; the client asks for
 * intent, as crictl does). `--all`: every container that is not running (with `--force`, every one),
 * but the sandboxes' infra containers (`rmp` removes those).
 */
export function addContainerRemoveCommand(program: Command): void {
  clientCommand(program, "rm", "remove one or more containers")
    .argument("[id...]", "container ids, or unique prefixes of them")
    .option("-a, --all", "remove every container that is not running (with --force, every one); not the sandboxes' infra containers")
    .option("-f, --force", "stop a running container (killing it at once), then remove it")
    .action(async (prefixes: string[], flags: { force?: boolean; all?: boolean }, command: Command) => {
      validateIdsOrAll("remove", prefixes, flags.all, "container");
      await withClient(command, async ({ client, output }) => {
        const ids = flags.all
          ? await allContainers(client, (item) => flags.force === true || item.state !== "running")
          : await resolveContainerIds(client, prefixes);
        const remove = (id: string) => removeContainer(client, id, flags.force === true);
        await forEachId(ids, remove, { output, action: (id) => `remove container ${id}`, summary: { verb: "Removed", noun: "containers" } });
      });
    });
}

async function removeContainer(client: ApiClient, containerId: string, force: boolean): Promise<void> {
  const { status } = await client.call<{ status: ContainerStatus }>("ContainerStatus", { containerId });
  if (status.state === "running") {
    if (!force) throw new CliError("it is running; stop it first, or use --force");
    await client.call("StopContainer", { containerId, timeoutMs: forceStopTimeoutMs });
  }
  await client.call("RemoveContainer", { containerId });
}

import type { Command } from "commander";
import type { ContainerStatus } from "../../api/api-types.ts";
import type { ApiClient } from "../client.ts";
import { clientCommand, parseSeconds, withClient } from "../client-command.ts";
import { forEachId } from "../each-id.ts";
import { resolveContainerIds, validateIdsOrAll } from "../resolve-id.ts";

/**
 * `podvisor stop [--timeout S] (ID… | --all)`: stops running containers and prints each id
 * stopped; `--all` is every running container but the sandboxes' infra containers (`stopp` stops those).
 */
export function addContainerStopCommand(program: Command): void {
  clientCommand(program, "stop", "stop one or more running containers: their stop signal, then a kill when the timeout passes")
    .argument("[id...]", "container ids, or unique prefixes of them")
    .option("-a, --all", "stop every running container (not the sandboxes' infra containers)")
    .option("--timeout <seconds>", "how long each may take to stop before it is killed (default: the daemon's)", parseSeconds)
    .action(async (prefixes: string[], flags: { timeout?: number; all?: boolean }, command: Command) => {
      validateIdsOrAll("stop", prefixes, flags.all, "container");
      await withClient(command, async ({ client, output }) => {
        const ids = flags.all ? await allContainers(client, (item) => item.state === "running") : await resolveContainerIds(client, prefixes);
        const stop = (containerId: string) => client.call("StopContainer", { containerId, timeoutMs: flags.timeout });
        await forEachId(ids, stop, { output, action: (id) => `stop container ${id}`, summary: { verb: "Stopped", noun: "containers" } });
      });
    });
}

/** The ids of every container but the infra ones that `keep` accepts. */
export async function allContainers(client: ApiClient, keep: (item: ContainerStatus) => boolean): Promise<string[]> {
  const { items } = await client.call<{ items: ContainerStatus[] }>("ListContainers");
  return items.filter((item) => !item.infra && keep(item)).map((item) => item.id);
}

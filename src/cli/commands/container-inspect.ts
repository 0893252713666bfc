import type { Command } from "commander";
import { attempt } from "../cli-error.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { printData } from "../output.ts";
import { resolveContainerIds } from "../resolve-id.ts";

/**
 * `podvisor inspect ID…`: the container's full status, as JSON (YAML with `-o yaml`); for several ids a
 * list of them, in the order given.
 */
export function addContainerInspectCommand(program: Command): void {
  clientCommand(program, "inspect", "print the full status of one or more containers as JSON")
    .argument("<id...>", "container ids, or unique prefixes of them")
    .action((prefixes: string[], _flags, command: Command) => withClient(command, async ({ client, output }) => {
      const ids = await resolveContainerIds(client, prefixes);
      const statuses = await Promise.all(ids.map(async (containerId) => {
        const { status } = await attempt(`inspect container ${containerId}`, client.call<{ status: object }>("ContainerStatus", { containerId }));
        return status;
      }));
      printData(prefixes.length === 1 ? statuses[0] : statuses, output === "yaml" ? "yaml" : "json");
    }));
}

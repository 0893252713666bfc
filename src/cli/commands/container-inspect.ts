import type { Command } from "commander";
import { attempt } from "../cli-error.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { printJson } from "../output.ts";
import { resolveContainerIds } from "../resolve-id.ts";

/** `podvisor inspect ID`: the container's full status, as JSON (whatever `-o` says). */
export function addContainerInspectCommand(program: Command): void {
  clientCommand(program, "inspect", "print a container's full status as JSON")
    .argument("<id>", "a container id, or a unique prefix of it")
    .action((prefix: string, _flags, command: Command) => withClient(command, async ({ client }) => {
      const [containerId] = await resolveContainerIds(client, [prefix]);
      const { status } = await attempt(`inspect container ${containerId}`, client.call<{ status: object }>("ContainerStatus", { containerId }));
      printJson(status);
    }));
}

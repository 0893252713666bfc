import type { Command } from "commander";
import type { ContainerConfig } from "../../api/api-types.ts";
import { attempt } from "../cli-error.ts";
import type { ApiClient } from "../client.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { isStructured, printData } from "../output.ts";
import { resolveSandboxIds } from "../resolve-id.ts";
import { addContainerOptions, containerConfig } from "./container-options.ts";

/** `podvisor create SANDBOX --name NAME -- CMD…`: creates a container and prints its id. */
export function addContainerCreateCommand(program: Command): void {
  addContainerOptions(clientCommand(program, "create", "create a container in a pod sandbox and print its id"))
    .action((sandbox: string, argv: string[], flags, command: Command) => {
      const config = containerConfig(argv, flags); // a bad command line is refused before any connection
      return withClient(command, async ({ client, output }) => {
        const containerId = await createContainer(client, sandbox, config);
        if (isStructured(output)) printData({ containerId }, output);
        else console.log(containerId);
      });
    });
}

/** Resolves the sandbox's id prefix and creates the container in it; returns the container's id. */
export async function createContainer(client: ApiClient, sandbox: string, config: ContainerConfig): Promise<string> {
  const [podSandboxId] = await resolveSandboxIds(client, [sandbox]);
  const action = `create container ${config.name} in pod sandbox ${podSandboxId}`;
  const result = await attempt(action, client.call<{ containerId: string }>("CreateContainer", { podSandboxId, config }));
  return result.containerId;
}

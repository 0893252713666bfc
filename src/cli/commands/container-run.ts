import type { Command } from "commander";
import { attempt } from "../cli-error.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { isStructured, printData } from "../output.ts";
import { createContainer } from "./container-create.ts";
import { addContainerOptions, containerConfig } from "./container-options.ts";

/**
 * `podvisor run SANDBOX --name NAME -- CMD…`: creates a container and starts it, printing its id.
 * A container that was created but failed to start is left for `rm`; the error names it.
 */
export function addContainerRunCommand(program: Command): void {
  addContainerOptions(clientCommand(program, "run", "create a container in a pod sandbox, start it, and print its id"))
    .action((sandbox: string, argv: string[], flags, command: Command) => {
      const config = containerConfig(argv, flags); // a bad command line is refused before any connection
      return withClient(command, async ({ client, output }) => {
        const containerId = await createContainer(client, sandbox, config);
        await attempt(`start container ${containerId}`, client.call("StartContainer", { containerId }));
        if (isStructured(output)) printData({ containerId }, output);
        else console.log(containerId);
      });
    });
}

import type { Command } from "commander";
import { clientCommand, withClient } from "../client-command.ts";
import { forEachId } from "../each-id.ts";
import { resolveContainerIds } from "../resolve-id.ts";

/** `podvisor start ID…`: starts created containers and prints each id started. */
export function addContainerStartCommand(program: Command): void {
  clientCommand(program, "start", "start one or more created containers")
    .argument("<id...>", "container ids, or unique prefixes of them")
    .action((prefixes: string[], _flags, command: Command) => withClient(command, async ({ client, output }) => {
      const ids = await resolveContainerIds(client, prefixes);
      await forEachId(ids, (containerId) => client.call("StartContainer", { containerId }), { output, action: (id) => `start container ${id}`, summary: { verb: "Started", noun: "containers" } });
    }));
}

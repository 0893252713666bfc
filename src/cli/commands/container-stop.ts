import type { Command } from "commander";
import { clientCommand, parseSeconds, withClient } from "../client-command.ts";
import { forEachId } from "../each-id.ts";
import { resolveContainerIds } from "../resolve-id.ts";

/** `podvisor stop [--timeout S] ID…`: stops running containers and prints each id stopped. */
export function addContainerStopCommand(program: Command): void {
  clientCommand(program, "stop", "stop one or more running containers: their stop signal, then a kill when the timeout passes")
    .argument("<id...>", "container ids, or unique prefixes of them")
    .option("--timeout <seconds>", "how long each may take to stop before it is killed (default: the daemon's)", parseSeconds)
    .action((prefixes: string[], flags: { timeout?: number }, command: Command) => withClient(command, async ({ client, output }) => {
      const ids = await resolveContainerIds(client, prefixes);
      const stop = (containerId: string) => client.call("StopContainer", { containerId, timeoutMs: flags.timeout });
      await forEachId(ids, stop, { output, action: (id) => `stop container ${id}` });
    }));
}

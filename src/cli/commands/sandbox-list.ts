import { Option } from "commander";
import type { Command } from "commander";
import type { PodSandboxStatus } from "../../api/api-types.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { formatAge, formatTable, printJson, shortId } from "../output.ts";

interface PodsFlags {
  state?: "ready" | "stopped";
  quiet?: boolean;
}

/** `podvisor pods [--state ready|stopped] [-q]`: lists pod sandboxes, newest first. */
export function addSandboxListCommand(program: Command): void {
  clientCommand(program, "pods", "list pod sandboxes, newest first")
    .addOption(new Option("--state <state>", "only sandboxes in this state").choices(["ready", "stopped"]))
    .option("-q, --quiet", "print only their full ids")
    .action((flags: PodsFlags, command: Command) => withClient(command, async ({ client, output }) => {
      const filter = flags.state === undefined ? undefined : { state: flags.state };
      const { items } = await client.call<{ items: PodSandboxStatus[] }>("ListPodSandbox", { filter });
      items.sort((a, b) => b.createdAt - a.createdAt);
      if (output === "json") return printJson(items);
      if (flags.quiet) return items.forEach((item) => console.log(item.id));
      const now = Date.now();
      const rows = items.map((item) => [shortId(item.id), item.name, item.state, formatAge(item.createdAt, now)]);
      console.log(formatTable(["POD ID", "NAME", "STATE", "CREATED"], rows));
    }));
}

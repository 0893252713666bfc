import { Option } from "commander";
import type { Command } from "commander";
import type { PodSandboxStatus } from "../../api/api-types.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { addListFilterOptions, listFilter } from "../list-filter.ts";
import type { ListFilterFlags } from "../list-filter.ts";
import { formatAge, formatTable, isStructured, printData, shortId } from "../output.ts";

interface PodsFlags extends ListFilterFlags {
  state?: "ready" | "stopped";
  quiet?: boolean;
}

/** `podvisor pods [--state ready|stopped] [--name REGEX] [--label k=v]… [-q]`: lists pod sandboxes, newest first. */
export function addSandboxListCommand(program: Command): void {
  addListFilterOptions(clientCommand(program, "pods", "list pod sandboxes, newest first"), { labels: true })
    .addOption(new Option("--state <state>", "only sandboxes in this state").choices(["ready", "stopped"]))
    .option("-q, --quiet", "print only their full ids")
    .action((flags: PodsFlags, command: Command) => {
      const matches = listFilter(flags, "pod sandboxes");
      return withClient(command, async ({ client, output }) => {
        const filter = flags.state === undefined ? undefined : { state: flags.state };
        const { items: all } = await client.call<{ items: PodSandboxStatus[] }>("ListPodSandbox", { filter });
        const items = all.filter(matches).sort((a, b) => b.createdAt - a.createdAt);
        if (isStructured(output)) return printData(items, output);
        if (flags.quiet) return items.forEach((item) => console.log(item.id));
        const now = Date.now();
        const rows = items.map((item) => [shortId(item.id), item.name, item.state, formatAge(item.createdAt, now)]);
        console.log(formatTable(["POD ID", "NAME", "STATE", "CREATED"], rows));
      });
    });
}

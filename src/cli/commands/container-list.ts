import { Option } from "commander";
import type { Command } from "commander";
import type { ContainerStatus } from "../../api/api-types.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { addListFilterOptions, listFilter } from "../list-filter.ts";
import type { ListFilterFlags } from "../list-filter.ts";
import { formatAge, formatTable, isStructured, printData, shortId } from "../output.ts";
import { resolveSandboxIds } from "../resolve-id.ts";

interface PsFlags extends ListFilterFlags {
  all?: boolean;
  pod?: string;
  state?: ContainerStatus["state"];
  quiet?: boolean;
}

/**
 * `podvisor ps [-a] [--pod ID] [--state S] [--name REGEX] [-q]`: lists containers, newest first;
 * only running ones unless `-a` or `--state`. A sandbox's infra container is not shown, as crictl
 * does not. No `--label`: containers have no labels (CreateContainer takes none).
 */
export function addContainerListCommand(program: Command): void {
  addListFilterOptions(clientCommand(program, "ps", "list containers (running ones unless -a), newest first"), { labels: false })
    .option("-a, --all", "show containers in every state")
    .option("--pod <id>", "only the containers of this pod sandbox (an id or a unique prefix)")
    .addOption(new Option("--state <state>", "only containers in this state").choices(["created", "running", "exited"]))
    .option("-q, --quiet", "print only their full ids")
    .action((flags: PsFlags, command: Command) => withClient(command, async ({ client, output }) => {
      const matches = listFilter(flags, "containers");
      const [podSandboxId] = await resolveSandboxIds(client, flags.pod === undefined ? [] : [flags.pod]);
      const state = flags.state ?? (flags.all ? undefined : "running");
      const { items } = await client.call<{ items: ContainerStatus[] }>("ListContainers", { filter: { podSandboxId, state } });
      const containers = items.filter((item) => !item.infra && matches(item)).sort((a, b) => b.createdAt - a.createdAt);
      if (isStructured(output)) return printData(containers, output);
      if (flags.quiet) return containers.forEach((item) => console.log(item.id));
      const now = Date.now();
      const rows = containers.map((item) => [
        shortId(item.id), item.name, item.state, formatAge(item.createdAt, now), shortId(item.podSandboxId), item.pid, item.exitCode ?? item.signal ?? (item.exitCodeUnknown === true ? "unknown" : undefined), item.reason,
      ]);
      console.log(formatTable(["CONTAINER", "NAME", "STATE", "CREATED", "POD", "PID", "EXIT", "REASON"], rows));
    }));
}

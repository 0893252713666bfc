import { Option } from "commander";
import type { Command } from "commander";
import { CliError } from "./cli-error.ts";
import { collectKeyValue } from "./client-command.ts";

/** The filters `pods` and `ps` take on top of the API's own (state, sandbox). */
export interface ListFilterFlags {
  /** `--label k=v`, repeatable: every pair must be among the item's labels. */
  label?: Record<string, string>;
  /** `--name REGEX`: the item's name must match it (as crictl's `--name`, a regular expression). */
  name?: string;
}

/**
 * Adds `--name REGEX` and, where the items have labels, `--label k=v` (repeatable).
 *
 * @example
 * addListFilterOptions(clientCommand(program, "pods", "…"), { labels: true });
 */
export function addListFilterOptions(command: Command, options: { labels: boolean }): Command {
  command.option("--name <regex>", "only those whose name matches this regular expression (a part of the name will do: ^…$ for all of it)");
  const label = new Option("--label <key=value>", "only those with this label; repeat for more (all must match)").argParser(collectKeyValue);
  // Items without labels (containers) take the flag only to say why it cannot filter them.
  command.addOption(options.labels ? label : label.hideHelp());
  return command;
}

/**
 * A predicate for items with a name and, perhaps, labels. A bad regular expression is a
 * {@link CliError}, thrown here, before anything is listed.
 */
export function listFilter(flags: ListFilterFlags, kind: "pod sandboxes" | "containers"): (item: { name: string; labels?: Record<string, string> }) => boolean {
  if (kind === "containers" && flags.label !== undefined) {
    throw new CliError("Cannot filter containers by --label: containers have no labels (CreateContainer takes none); filter by --name or --pod");
  }
  let name: RegExp | undefined;
  if (flags.name !== undefined) {
    try {
      name = new RegExp(flags.name);
    } catch (error) {
      throw new CliError(`Cannot filter by --name "${flags.name}": ${(error as Error).message}`);
    }
  }
  const labels = Object.entries(flags.label ?? {});
  return (item) => (name === undefined || name.test(item.name)) && labels.every(([key, value]) => item.labels?.[key] === value);
}

import type { Command } from "commander";
import { attempt } from "../cli-error.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { printData } from "../output.ts";
import { resolveSandboxIds } from "../resolve-id.ts";

/**
 * `podvisor inspectp ID…`: the pod sandbox's full status, as JSON (YAML with `-o yaml`); for several ids a
 * list of them, in the order given.
 */
export function addSandboxInspectCommand(program: Command): void {
  clientCommand(program, "inspectp", "print the full status of one or more pod sandboxes as JSON")
    .argument("<id...>", "pod sandbox ids, or unique prefixes of them")
    .action((prefixes: string[], _flags, command: Command) => withClient(command, async ({ client, output }) => {
      const ids = await resolveSandboxIds(client, prefixes);
      const statuses = await Promise.all(ids.map(async (podSandboxId) => {
        const { status } = await attempt(`inspect pod sandbox ${podSandboxId}`, client.call<{ status: object }>("PodSandboxStatus", { podSandboxId }));
        return status;
      }));
      printData(prefixes.length === 1 ? statuses[0] : statuses, output === "yaml" ? "yaml" : "json");
    }));
}

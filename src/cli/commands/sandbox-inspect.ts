import type { Command } from "commander";
import { attempt } from "../cli-error.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { printJson } from "../output.ts";
import { resolveSandboxIds } from "../resolve-id.ts";

/** `podvisor inspectp ID`: the pod sandbox's full status, as JSON (whatever `-o` says). */
export function addSandboxInspectCommand(program: Command): void {
  clientCommand(program, "inspectp", "print a pod sandbox's full status as JSON")
    .argument("<id>", "a pod sandbox id, or a unique prefix of it")
    .action((prefix: string, _flags, command: Command) => withClient(command, async ({ client }) => {
      const [podSandboxId] = await resolveSandboxIds(client, [prefix]);
      const { status } = await attempt(`inspect pod sandbox ${podSandboxId}`, client.call<{ status: object }>("PodSandboxStatus", { podSandboxId }));
      printJson(status);
    }));
}

import type { Command } from "commander";
import type { PodSandboxStatus } from "../../api/api-types.ts";
import { CliError } from "../cli-error.ts";
import type { ApiClient } from "../client.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { selectSandboxes, validateIdsOrAll } from "../resolve-id.ts";
import { reportSandboxBatch, runSandboxBatch } from "../sandbox-batch.ts";
import { stopPodSandbox } from "./sandbox-stop.ts";

interface RmpFlags {
  force?: boolean;
  all?: boolean;
}

/**
 * `podvisor rmp [--force] (ID… | --all)`: removes pod sandboxes, all at once. A ready one is
 * refused unless `--force`, which stops it first (as crictl asks for intent before removing).
 */
export function addSandboxRemoveCommand(program: Command): void {
  clientCommand(program, "rmp", "remove one or more pod sandboxes and their containers")
    .argument("[id...]", "pod sandbox ids, or unique prefixes of them")
    .option("-a, --all", "remove every pod sandbox")
    .option("-f, --force", "stop a ready pod sandbox first, then remove it")
    .action(async (prefixes: string[], flags: RmpFlags, command: Command) => {
      validateIdsOrAll("remove", prefixes, flags.all);
      await withClient(command, async ({ client, output }) => {
        const startedAt = performance.now();
        const selected = await selectSandboxes(client, prefixes, flags.all === true);
        const byId = new Map(selected.map((sandbox) => [sandbox.id, sandbox]));
        const remove = (id: string, onPhase: (phase: string) => void) => removePodSandbox(client, byId.get(id) as PodSandboxStatus, { force: flags.force === true, onPhase });
        const outcomes = await runSandboxBatch([...byId.keys()], remove, { output, verb: "remove" });
        reportSandboxBatch(outcomes, { output, verb: "remove", startedAt });
      });
    });
}

async function removePodSandbox(client: ApiClient, sandbox: PodSandboxStatus, options: { force: boolean; onPhase: (phase: string) => void }): Promise<void> {
  if (sandbox.state === "ready") {
    if (!options.force) throw new CliError("it is ready; stop it first (podvisor stopp), or use --force");
    await stopPodSandbox(client, sandbox.id, { onPhase: options.onPhase });
  }
  await client.call("RemovePodSandbox", { podSandboxId: sandbox.id });
}

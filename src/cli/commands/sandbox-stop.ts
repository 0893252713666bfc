import type { Command } from "commander";
import type { ApiClient } from "../client.ts";
import { clientCommand, parseSeconds, withClient } from "../client-command.ts";
import { selectSandboxes, validateIdsOrAll } from "../resolve-id.ts";
import { reportSandboxBatch, runSandboxBatch } from "../sandbox-batch.ts";

interface StoppFlags {
  timeout?: number;
  all?: boolean;
}

/**
 * `podvisor stopp [--timeout S] (ID… | --all)`: stops pod sandboxes, all at once, on one
 * connection; a progress bar on a terminal, and a summary when there are several.
 */
export function addSandboxStopCommand(program: Command): void {
  clientCommand(program, "stopp", "stop one or more pod sandboxes: every container, then the sandbox's host resources")
    .argument("[id...]", "pod sandbox ids, or unique prefixes of them")
    .option("-a, --all", "stop every ready pod sandbox")
    .option("--timeout <seconds>", "the time each stop may take before what is left is killed (default: the daemon's)", parseSeconds)
    .action(async (prefixes: string[], flags: StoppFlags, command: Command) => {
      validateIdsOrAll("stop", prefixes, flags.all);
      await withClient(command, async ({ client, output }) => {
        const selected = await selectSandboxes(client, prefixes, flags.all === true);
        const ids = selected.filter((sandbox) => !flags.all || sandbox.state === "ready").map((sandbox) => sandbox.id);
        const stop = (id: string, onPhase: (phase: string) => void) => stopPodSandbox(client, id, { timeoutMs: flags.timeout, onPhase });
        const outcomes = await runSandboxBatch(ids, stop, { output, verb: "stop" });
        reportSandboxBatch(outcomes, { output, verb: "stop" });
      });
    });
}

/** StopPodSandbox, passing each `progress` notification's phase to `onPhase`. */
export async function stopPodSandbox(client: ApiClient, podSandboxId: string, options: { timeoutMs?: number; onPhase: (phase: string) => void }): Promise<void> {
  await client.call("StopPodSandbox", { podSandboxId, timeoutMs: options.timeoutMs }, {
    onNotification: ({ method, params }) => {
      if (method === "progress" && typeof params.phase === "string") options.onPhase(params.phase);
    },
  });
}

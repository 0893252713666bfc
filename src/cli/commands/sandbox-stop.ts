import type { Command } from "commander";
import type { ApiClient } from "../client.ts";
import { clientCommand, parseSeconds, withClient } from "../client-command.ts";
import type { PodSandboxStatus } from "../../api/api-types.ts";
import { resolveKnownIds, validateIdsOrAll } from "../resolve-id.ts";
import { shortId } from "../output.ts";
import type { OutputFormat } from "../output.ts";
import { progressBar, reportSandboxBatch, runSandboxBatch } from "../sandbox-batch.ts";
import type { SandboxOutcome } from "../sandbox-batch.ts";

interface StoppFlags {
  timeout?: number;
  all?: boolean;
}

/**
 * `podvisor stopp [--timeout S] (ID… | --all)`: stops pod sandboxes, all at once, on one
 * connection; a progress bar on a terminal, and a summary when there are several. An id that
 * matches no sandbox is, as for the API, nothing to stop: a warning on stderr, not a failure.
 */
export function addSandboxStopCommand(program: Command): void {
  clientCommand(program, "stopp", "stop one or more pod sandboxes: every container, then the sandbox's host resources")
    .argument("[id...]", "pod sandbox ids, or unique prefixes of them")
    .option("-a, --all", "stop every ready pod sandbox")
    .option("--timeout <seconds>", "the time each stop may take before what is left is killed (default: the daemon's)", parseSeconds)
    .action(async (prefixes: string[], flags: StoppFlags, command: Command) => {
      validateIdsOrAll("stop", prefixes, flags.all);
      await withClient(command, async ({ client, output }) => {
        const startedAt = performance.now();
        const { items } = await client.call<{ items: PodSandboxStatus[] }>("ListPodSandbox");
        const known = flags.all
          ? { ids: items.filter((sandbox) => sandbox.state === "ready").map((sandbox) => sandbox.id), unknown: [] }
          : resolveKnownIds("pod sandbox", prefixes, items.map((sandbox) => sandbox.id));
        for (const prefix of known.unknown) console.error(`podvisor: warning: no pod sandbox id starts with "${prefix}"; nothing to stop`);
        const { ids } = known;
        if (ids.length === 0) return;
        const outcomes = ids.length === 1
          ? await runSandboxBatch(ids, (id, onPhase) => stopPodSandbox(client, id, { timeoutMs: flags.timeout, onPhase }), { output, verb: "stop" })
          : await stopPodSandboxes(client, ids, { timeoutMs: flags.timeout, output });
        reportSandboxBatch(outcomes, { output, verb: "stop", startedAt });
      });
    });
}

/**
 * StopPodSandboxes: many sandboxes under one deadline, in one request; the bar advances with each
 * `progress` notification.
 */
async function stopPodSandboxes(client: ApiClient, ids: string[], options: { timeoutMs?: number; output: OutputFormat }): Promise<SandboxOutcome[]> {
  const bar = progressBar(ids.length, { output: options.output, verb: "stop" });
  try {
    const { results } = await client.call<{ results: SandboxOutcome[] }>("StopPodSandboxes", { podSandboxIds: ids, timeoutMs: options.timeoutMs }, {
      onNotification: ({ method, params }) => {
        if (method === "progress" && typeof params.done === "number") bar?.update(params.done, { phase: `${shortId(String(params.podSandboxId))} ${params.ok ? "stopped" : "failed"}` });
      },
    });
    return results.map((result) => ({ ...result, durationMs: Math.round(result.durationMs) }));
  } finally {
    bar?.stop();
  }
}

/** StopPodSandbox, passing each `progress` notification's phase to `onPhase`. */
export async function stopPodSandbox(client: ApiClient, podSandboxId: string, options: { timeoutMs?: number; onPhase: (phase: string) => void }): Promise<void> {
  await client.call("StopPodSandbox", { podSandboxId, timeoutMs: options.timeoutMs }, {
    onNotification: ({ method, params }) => {
      if (method === "progress" && typeof params.phase === "string") options.onPhase(params.phase);
    },
  });
}

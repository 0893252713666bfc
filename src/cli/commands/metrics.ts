import type { Command } from "commander";
import { clientCommand, withClient } from "../client-command.ts";
import { isStructured, printData } from "../output.ts";

/** `podvisor metrics`: the daemon's Prometheus metrics, as text (`-o json`: `{ "text": … }`). */
export function addMetricsCommand(program: Command): void {
  clientCommand(program, "metrics", "print the daemon's metrics in the Prometheus text format")
    .action((_flags, command: Command) => withClient(command, async ({ client, output }) => {
      const result = await client.call<{ text: string }>("Metrics");
      if (isStructured(output)) printData(result, output);
      else process.stdout.write(result.text.endsWith("\n") ? result.text : `${result.text}\n`);
    }));
}

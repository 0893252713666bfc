import { InvalidArgumentError, Option } from "commander";
import type { Command } from "commander";
import { ApiClient } from "./client.ts";
import { outputFormats } from "./output.ts";
import type { OutputFormat } from "./output.ts";
import { defaultSocketPath } from "./socket-path.ts";

/** What a client command's action works with. */
export interface ClientContext {
  client: ApiClient;
  output: OutputFormat;
}

/**
 * Adds a client subcommand to `program`, with the options every client command takes: `--socket`
 * (also accepted before the command name) and `-o, --output table|json`.
 *
 * @example
 * clientCommand(program, "pods", "list pod sandboxes").action((flags, command) => withClient(command, …));
 */
export function clientCommand(program: Command, nameAndArgs: string, description: string): Command {
  return program
    .command(nameAndArgs)
    .description(description)
    .option("--socket <path>", `the daemon's API socket (default: ${defaultSocketPath()}; $PODVISOR_SOCKET sets it)`)
    .addOption(new Option("-o, --output <format>", "output format").choices(outputFormats).default("table"));
}

/** Connects to the daemon named by the command's `--socket`, runs `action`, and closes the connection. */
export async function withClient<T>(command: Command, action: (context: ClientContext) => Promise<T>): Promise<T> {
  const client = await ApiClient.connect(socketPathOf(command));
  try {
    return await action({ client, output: outputOf(command) });
  } finally {
    client.close();
  }
}

/** The output format of a command: its own `-o`, else the one given before the command name, else `table`. */
export function outputOf(command: Command): OutputFormat {
  const own = command.getOptionValueSource("output") === "default" ? undefined : command.opts().output as OutputFormat;
  return own ?? (command.parent?.opts().output as OutputFormat | undefined) ?? "table";
}

/** The socket a command talks to: its own `--socket`, the one given before the command name, or the default. */
export function socketPathOf(command: Command): string {
  const own = command.opts().socket as string | undefined;
  const global = command.parent?.opts().socket as string | undefined;
  return own ?? global ?? defaultSocketPath();
}

/**
 * Collects a repeatable `KEY=VALUE` option into a record (commander's argParser).
 *
 * @example
 * new Option("--label <key=value>").argParser(collectKeyValue).default({});
 */
export function collectKeyValue(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const equals = value.indexOf("=");
  if (equals < 1) throw new InvalidArgumentError("Expected KEY=VALUE.");
  return { ...previous, [value.slice(0, equals)]: value.slice(equals + 1) };
}

/** Parses `--timeout` seconds (a fraction is fine) into whole milliseconds. */
export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds < 0) throw new InvalidArgumentError("Expected a number of seconds, 0 or more.");
  return Math.round(seconds * 1_000);
}

/**
 * The podvisor command line. `podvisor daemon` runs the daemon; every other command is a client of
 * its socket API, shaped like crictl (docs/CLI.md). Any failure is one line on stderr,
 * `podvisor: …`, and exit status 1.
 */
import "../platform/threadpool.ts"; // first: sizes the thread pool before it starts
import { Command, Option } from "commander";
import { describeError } from "./cli-error.ts";
import { addContainerCreateCommand } from "./commands/container-create.ts";
import { addContainerInspectCommand } from "./commands/container-inspect.ts";
import { addContainerListCommand } from "./commands/container-list.ts";
import { addContainerLogsCommand } from "./commands/container-logs.ts";
import { addContainerRemoveCommand } from "./commands/container-remove.ts";
import { addContainerRunCommand } from "./commands/container-run.ts";
import { addContainerStartCommand } from "./commands/container-start.ts";
import { addContainerStopCommand } from "./commands/container-stop.ts";
import { addHostCheckCommand } from "./commands/host-check.ts";
import { addMetricsCommand } from "./commands/metrics.ts";
import { addSandboxInspectCommand } from "./commands/sandbox-inspect.ts";
import { addSandboxListCommand } from "./commands/sandbox-list.ts";
import { addSandboxRemoveCommand } from "./commands/sandbox-remove.ts";
import { addSandboxRunCommand } from "./commands/sandbox-run.ts";
import { addSandboxStopCommand } from "./commands/sandbox-stop.ts";
import { addVersionCommand } from "./commands/version.ts";
import { addImageInspectCommand } from "./commands/image-inspect.ts";
import { addImageListCommand } from "./commands/image-list.ts";
import { addImageLoadCommand } from "./commands/image-load.ts";
import { addImagePullCommand } from "./commands/image-pull.ts";
import { addImageRemoveCommand } from "./commands/image-remove.ts";
import { addDaemonCommand } from "./daemon-command.ts";
import { outputFormats } from "./output.ts";
import { defaultSocketPath } from "./socket-path.ts";
import { describeVersion } from "../version.ts";

const program = new Command("podvisor")
  .description("A pod sandbox daemon built for teardown: stop one sandbox or thousands, within a deadline, leaving nothing behind")
  .version(describeVersion().version, "-v, --version")
  // Options before the command name belong to podvisor itself, so `daemon --socket` stays the daemon's.
  .enablePositionalOptions()
  .option("--socket <path>", `the daemon's API socket, for every command (default: ${defaultSocketPath()}; $PODVISOR_SOCKET sets it)`)
  .addOption(new Option("-o, --output <format>", "output format, for every client command (default: table)").choices(outputFormats))
  .configureOutput({ outputError: (message, write) => write(`podvisor: ${message.replace(/^error: /, "").trim().replace(/\s*\n\s*/g, " ")} (see --help)\n`) });

// `podvisor --socket PATH daemon` means the daemon's own --socket.
program.hook("preSubcommand", (_program, command) => {
  const socket = program.opts().socket as string | undefined;
  if (socket !== undefined && command.name() === "daemon") command.setOptionValueWithSource("socket", socket, "cli");
});

for (const add of [
  addSandboxRunCommand, addSandboxStopCommand, addSandboxRemoveCommand, addSandboxListCommand, addSandboxInspectCommand,
  addContainerCreateCommand, addContainerStartCommand, addContainerRunCommand, addContainerStopCommand, addContainerRemoveCommand,
  addContainerListCommand, addContainerInspectCommand, addContainerLogsCommand, addHostCheckCommand, addMetricsCommand, addVersionCommand,
  addImagePullCommand, addImageListCommand, addImageRemoveCommand, addImageInspectCommand, addImageLoadCommand,
]) add(program);
addDaemonCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`podvisor: ${describeError(error)}`);
  process.exitCode = 1;
}

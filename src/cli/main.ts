/**
 * The podvisor command line. `podvisor daemon` runs the daemon. The client commands (`runp`,
 * `stopp`, `pods` …) need the socket API, which does not exist yet (see README).
 */
import { Command } from "commander";
import { addDaemonCommand } from "./daemon-command.ts";
import { describeVersion } from "../version.ts";

const program = new Command("podvisor")
  .description("A pod sandbox daemon built for teardown: stop one sandbox or thousands, within a deadline, leaving nothing behind")
  .version(describeVersion().version, "-v, --version")
  .showHelpAfterError();

program
  .command("version")
  .description("print the version of podvisor and of the runtime it runs on")
  .option("-o, --output <format>", "table or json", "table")
  .action((options: { output: string }) => {
    const info = describeVersion();
    if (options.output === "json") console.log(JSON.stringify(info, null, 2));
    else console.log(`podvisor ${info.version} (${info.runtime} ${info.runtimeVersion})`);
  });

addDaemonCommand(program);

await program.parseAsync(process.argv);

/**
 * The podvisor command line. `podvisor daemon` will start the daemon; every other command is a
 * client of its socket API. Neither exists yet: this is the foundation issue (see README).
 */
import { Command } from "commander";
import { describeVersion } from "./version.ts";

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

await program.parseAsync(process.argv);

import { resolve } from "node:path";
import { Option } from "commander";
import type { Command } from "commander";
import type { ContainerConfig } from "../../api/api-types.ts";
import { CliError } from "../cli-error.ts";
import { collectKeyValue } from "../client-command.ts";

interface ContainerFlags {
  name: string;
  stopSignal?: string;
  rootfs?: string;
  image?: string;
  entrypoint?: string;
  env?: Record<string, string>;
  cwd?: string;
  init?: boolean;
}

/**
 * Adds what `create` and `run` share: `SANDBOX --name NAME [options] -- CMD [ARG…]`, or with an
 * image, as `docker run` takes it: `SANDBOX --name NAME --image REF [--entrypoint CMD] [-- ARG…]`.
 *
 * @example
 * addContainerOptions(clientCommand(program, "create", "…")).action((sandbox, argv, flags) => …);
 */
export function addContainerOptions(command: Command): Command {
  return command
    .argument("<sandbox>", "the pod sandbox's id, or a unique prefix of it")
    .argument("[command...]", "the command and its arguments (with --image: the arguments that replace the image's cmd); put -- before them when they have options of their own")
    .requiredOption("--name <name>", "the container's name")
    .option("--image <ref>", "run it from this image (pulled first with `podvisor pull`): its entrypoint, cmd, env and working directory apply where the command line does not set them")
    .option("--entrypoint <cmd>", "with --image: the program to run instead of the image's entrypoint (the image's cmd is then dropped, as in CRI)")
    .option("--stop-signal <signal>", "the signal that asks it to stop (default SIGTERM)", normalizeSignal)
    .option("--rootfs <dir>", "a directory to use as its root filesystem (read-only lower layer of an overlay)")
    .addOption(new Option("--env <key=value>", "an environment variable; repeat for more").argParser(collectKeyValue))
    .option("--cwd <dir>", "its working directory (an absolute path)")
    .option("--init", "run it under catatonit as PID 1, which forwards signals and reaps (runc and crun backends; a bare PID 1 ignores SIGTERM)");
}

/** The CreateContainer config from the command line; `--rootfs` is made absolute here, on the client. */
export function containerConfig(argv: string[], flags: ContainerFlags): ContainerConfig {
  const config: ContainerConfig = { name: flags.name };
  if (flags.image === undefined) {
    if (flags.entrypoint !== undefined) throw new CliError("--entrypoint needs --image (without an image, the command is the words after --)");
    if (argv.length === 0) throw new CliError("a command is needed (after --), or --image to run an image's own");
    config.command = argv;
  } else {
    // CRI's rules (supervisor/container-image.ts): `command` replaces the entrypoint, `args` the cmd.
    config.image = flags.image;
    if (flags.entrypoint !== undefined) config.command = [flags.entrypoint];
    if (argv.length > 0) config.args = argv;
  }
  if (flags.stopSignal !== undefined) config.stopSignal = flags.stopSignal;
  if (flags.rootfs !== undefined) config.rootfs = resolve(flags.rootfs);
  if (flags.env !== undefined) config.env = flags.env;
  if (flags.cwd !== undefined) config.cwd = flags.cwd;
  if (flags.init === true) config.init = true;
  return config;
}

/** "term", "TERM" and "SIGTERM" all mean SIGTERM. */
function normalizeSignal(value: string): string {
  const upper = value.toUpperCase();
  return upper.startsWith("SIG") ? upper : `SIG${upper}`;
}

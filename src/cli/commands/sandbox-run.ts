import { readFile } from "node:fs/promises";
import { Option } from "commander";
import type { Command } from "commander";
import type { SandboxConfig } from "../../api/api-types.ts";
import { attempt, CliError } from "../cli-error.ts";
import { clientCommand, collectKeyValue, withClient } from "../client-command.ts";
import { isStructured, printData } from "../output.ts";

interface RunpFlags {
  file?: string;
  name?: string;
  hostNetwork?: boolean;
  hostIpc?: boolean;
  label?: Record<string, string>;
  annotation?: Record<string, string>;
}

/** `podvisor runp`: runs a pod sandbox from flags or a JSON config file, and prints its id. */
export function addSandboxRunCommand(program: Command): void {
  clientCommand(program, "runp", "run a new pod sandbox and print its id")
    .option("-f, --file <pod.json>", "a JSON file holding the sandbox config (name, labels, annotations, hostNetwork, hostIpc); flags add to it")
    .option("--name <name>", "the sandbox's name (required unless the file gives one)")
    .option("--host-network", "share the host's network namespace")
    .option("--host-ipc", "share the host's IPC namespace (no private /dev/shm)")
    .addOption(new Option("--label <key=value>", "a label; repeat for more").argParser(collectKeyValue))
    .addOption(new Option("--annotation <key=value>", "an annotation; repeat for more").argParser(collectKeyValue))
    .action(async (flags: RunpFlags, command: Command) => {
      const config = await sandboxConfig(flags);
      await withClient(command, async ({ client, output }) => {
        const result = await attempt(`run pod sandbox ${config.name}`, client.call<{ podSandboxId: string }>("RunPodSandbox", { config }));
        if (isStructured(output)) printData(result, output);
        else console.log(result.podSandboxId);
      });
    });
}

/** The config from the file, if any, with the flags on top; labels and annotations are merged. */
async function sandboxConfig(flags: RunpFlags): Promise<SandboxConfig> {
  const config = await readConfigFile(flags.file);
  if (flags.name !== undefined) config.name = flags.name;
  if (flags.hostNetwork) config.hostNetwork = true;
  if (flags.hostIpc) config.hostIpc = true;
  if (flags.label !== undefined) config.labels = { ...config.labels, ...flags.label };
  if (flags.annotation !== undefined) config.annotations = { ...config.annotations, ...flags.annotation };
  if (config.name === undefined) throw new CliError("Cannot run pod sandbox: give it a --name (or a \"name\" in the -f file)");
  return config as SandboxConfig;
}

async function readConfigFile(path: string | undefined): Promise<Partial<SandboxConfig>> {
  if (path === undefined) return {};
  const text = await attempt(`read ${path}`, readFile(path, "utf8"));
  const config: unknown = await attempt(`read ${path}`, Promise.resolve().then(() => JSON.parse(text)));
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw new CliError(`Cannot read ${path}: it holds no JSON object`);
  return config as Partial<SandboxConfig>;
}

import type { Command } from "commander";
import type { ImageView } from "../../api/api-types.ts";
import { CliError } from "../cli-error.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { printData } from "../output.ts";

/** `podvisor inspecti REF`: an image's status (ImageStatus) as JSON (or YAML); an unknown image is an error. */
export function addImageInspectCommand(program: Command): void {
  clientCommand(program, "inspecti", "show an image's status")
    .argument("<image>", "an image reference or id")
    .action((reference: string, _flags: object, command: Command) =>
      withClient(command, async ({ client, output }) => {
        const { image } = await client.call<{ image: ImageView | null }>("ImageStatus", { image: { image: reference } });
        if (image === null) throw new CliError(`no such image: ${reference}`);
        printData({ status: image }, output === "yaml" ? "yaml" : "json");
      }));
}

import { resolve } from "node:path";
import type { Command } from "commander";
import type { ImageView } from "../../api/api-types.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { isStructured, printData } from "../output.ts";

/**
 * `podvisor image load [--name REPO] FILE`: stores the images of an OCI image layout (a directory)
 * or an OCI archive (a tar of one) that lies on the daemon's machine.
 */
export function addImageLoadCommand(program: Command): void {
  const image = program.command("image").description("image commands that crictl has no verb for");
  clientCommand(image, "load", "load images from an OCI layout directory or OCI archive on this machine")
    .argument("<file>", "an OCI image layout directory, or a tar of one")
    .option("--name <repository>", "the repository a bare tag in the layout (e.g. latest) belongs to, e.g. localhost/app")
    .action((file: string, flags: { name?: string }, command: Command) =>
      withClient(command, async ({ client, output }) => {
        const { images } = await client.call<{ images: ImageView[] }>("LoadImage", { path: resolve(file), ...(flags.name === undefined ? {} : { name: flags.name }) });
        if (isStructured(output)) return printData(images, output);
        for (const one of images) console.log(`Loaded image ${one.repoTags.at(-1) ?? "<none>"} ${one.id}`);
      }));
}

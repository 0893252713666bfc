import type { Command } from "commander";
import { clientCommand, withClient } from "../client-command.ts";
import { forEachId } from "../each-id.ts";

/** `podvisor rmi REF…`: removes images (every tag of each); one a container uses is refused. */
export function addImageRemoveCommand(program: Command): void {
  clientCommand(program, "rmi", "remove one or more images")
    .argument("<image...>", "image references or ids")
    .action((references: string[], _flags: object, command: Command) =>
      withClient(command, async ({ client, output }) => {
        await forEachId(references, (image) => client.call("RemoveImage", { image: { image } }), { output, action: (image) => `remove image ${image}`, summary: { verb: "Removed", noun: "images" } });
      }));
}

import type { Command } from "commander";
import type { ImageView } from "../../api/api-types.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { formatTable, isStructured, printData } from "../output.ts";

/** `podvisor images [-q] [REF]`: lists images as crictl does (one row per tag; untagged: `<none>`). */
export function addImageListCommand(program: Command): void {
  clientCommand(program, "images", "list images")
    .argument("[image]", "only this image (a reference or an id)")
    .option("-q, --quiet", "print only their ids")
    .option("--digests", "show the digests")
    .action((reference: string | undefined, flags: { quiet?: boolean; digests?: boolean }, command: Command) =>
      withClient(command, async ({ client, output }) => {
        const filter = reference === undefined ? undefined : { image: { image: reference } };
        const { images } = await client.call<{ images: ImageView[] }>("ListImages", filter === undefined ? {} : { filter });
        if (isStructured(output)) return printData(images, output);
        if (flags.quiet) return images.forEach((image) => console.log(image.id));
        const rows = images.flatMap((image) => {
          const digest = image.repoDigests[0]?.split("@")[1]?.slice(7, 20) ?? "<none>";
          const names = image.repoTags.length > 0 ? image.repoTags : image.repoDigests.length > 0 ? [`${image.repoDigests[0]?.split("@")[0]}:<none>`] : ["<none>:<none>"];
          return names.map((name) => {
            const colon = name.lastIndexOf(":");
            const row = [name.slice(0, colon), name.slice(colon + 1), image.id.slice(7, 20), formatSize(image.size)];
            if (flags.digests) row.splice(2, 0, digest);
            return row;
          });
        });
        const head = flags.digests ? ["IMAGE", "TAG", "DIGEST", "IMAGE ID", "SIZE"] : ["IMAGE", "TAG", "IMAGE ID", "SIZE"];
        console.log(formatTable(head, rows));
      }));
}

/** Bytes as crictl shows them: 1.08MB (powers of 1000). */
export function formatSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toPrecision(3)}${units[unit]}`;
}

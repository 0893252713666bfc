/**
 * OCI whiteouts turned into overlayfs's own: `.wh.<name>` becomes a character device 0:0 named
 * `<name>` (which hides `<name>` of the layers below), `.wh..wh..opq` the `trusted.overlay.opaque=y`
 * xattr on its directory (which hides everything below it). Node has neither mknod nor setxattr,
 * so `mknod` (coreutils) and `setfattr` (Debian's `attr`) do it.
 */
import { rm } from "node:fs/promises";
import { basename } from "node:path";
import { runHostCommand } from "../host/host-command.ts";
import { entryParts, layerRefused, prepareParents } from "./layer-path.ts";

const whiteoutPrefix = ".wh.";
const opaqueMarker = ".wh..wh..opq";

/** The whiteouts of one layer, gathered while its entries are written, applied at its end. */
export class LayerWhiteouts {
  readonly #hidden: string[][] = [];
  readonly #opaque: string[][] = [];

  /** Whether `name` is a whiteout (then it is recorded, not written). */
  take(name: string): boolean {
    const parts = entryParts(name);
    const last = parts.at(-1) ?? "";
    if (!last.startsWith(whiteoutPrefix)) return false;
    if (last === opaqueMarker) {
      this.#opaque.push(parts.slice(0, -1));
      return true;
    }
    const hidden = last.slice(whiteoutPrefix.length);
    if (hidden === "" || hidden === "." || hidden === ".." || hidden.startsWith(whiteoutPrefix)) throw layerRefused(name, "it is not a valid whiteout");
    this.#hidden.push([...parts.slice(0, -1), hidden]);
    return true;
  }

  get count(): number {
    return this.#hidden.length + this.#opaque.length;
  }

  /** Makes the whiteout devices and opaque marks under `dir`. */
  async apply(dir: string, signal?: AbortSignal): Promise<void> {
    for (const parts of this.#hidden) {
      const path = await prepareParents(dir, parts, parts.join("/"));
      await rm(path, { recursive: true, force: true });
      await runHostCommand("mknod", ["-m", "0", path, "c", "0", "0"], { action: `make whiteout ${basename(path)}`, signal });
    }
    for (const parts of this.#opaque) {
      // its parents, and the directory itself, are made real directories (never a link) here
      const path = await prepareParents(dir, [...parts, opaqueMarker], parts.join("/"));
      const directory = path.slice(0, -opaqueMarker.length - 1);
      await runHostCommand("setfattr", ["-h", "-n", "trusted.overlay.opaque", "-v", "y", directory], { action: `mark ${parts.join("/") || "/"} opaque`, signal });
    }
  }
}

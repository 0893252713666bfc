/**
 * Where a layer's tar entry may go: inside the layer's directory, never through a symbolic link.
 * A name is cleaned as Docker's applier cleans it (a leading `/` or `./` is dropped), and refused
 * if it climbs out (`..`). Parents are walked with lstat, so no link made by an earlier entry of the
 * same layer can carry a write outside: a symlink on the way refuses the layer.
 */
import { lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { CodedError } from "../errors/coded-error.ts";

/** A layer refused for what one of its entries asks. */
export function layerRefused(name: string, why: string): CodedError {
  return new CodedError("INVALID_ARGUMENT", `Cannot unpack layer entry "${name.slice(0, 300)}": ${why}`, { details: { entry: name.slice(0, 4_096) } });
}

/** The entry's name as path components inside the layer (empty for the layer's root). */
export function entryParts(name: string): string[] {
  if (name.includes("\0")) throw layerRefused(name, "its name holds a NUL byte");
  const parts = name.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) throw layerRefused(name, "its name climbs out of the layer (..)");
  return parts;
}

/**
 * Makes sure every parent of `parts` is a real directory under `dir` (made if missing, 0755) and
 * returns the entry's absolute path. A parent that is a symlink or a file refuses the entry.
 */
export async function prepareParents(dir: string, parts: string[], name: string): Promise<string> {
  let current = dir;
  for (const part of parts.slice(0, -1)) {
    current = join(current, part);
    const info = await lstat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (info === undefined) {
      await mkdir(current, { mode: 0o755 });
    } else if (info.isSymbolicLink()) {
      throw layerRefused(name, `its parent ${parts.slice(0, parts.indexOf(part) + 1).join("/")} is a symbolic link`);
    } else if (!info.isDirectory()) {
      throw layerRefused(name, `its parent ${parts.slice(0, parts.indexOf(part) + 1).join("/")} is not a directory`);
    }
  }
  return join(dir, ...parts);
}

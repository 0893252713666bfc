/**
 * Writes one tar entry of a layer into the layer's directory, never following a link: files are
 * opened with O_EXCL|O_NOFOLLOW after what was there is removed, ownership and modes are set on
 * the entry itself (lchown), hard links must name an earlier entry of the same layer. Device nodes
 * and FIFOs are neutralised: skipped, and counted, never made.
 */
import { constants } from "node:fs";
import { chmod, lchown, link, lstat, mkdir, open, rm, symlink } from "node:fs/promises";
import type { ReadEntry } from "tar";
import { entryParts, layerRefused, prepareParents } from "./layer-path.ts";

/** What was left out of a layer on purpose. */
export interface EntrySkips {
  devices: string[];
}

const writeFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Writes `entry` under `dir`; the caller has already taken whiteouts out. */
export async function writeLayerEntry(dir: string, entry: ReadEntry, skips: EntrySkips): Promise<void> {
  const parts = entryParts(entry.path);
  const mode = (entry.mode ?? 0o644) & 0o7777;
  const owner = { uid: entry.uid ?? 0, gid: entry.gid ?? 0 };
  if (parts.length === 0) {
    entry.resume(); // the layer's own root ("./"): its directory exists, its mode is ours
    return;
  }
  const path = await prepareParents(dir, parts, entry.path);
  switch (entry.type) {
    case "Directory":
    case "GNUDumpDir": {
      entry.resume();
      const existing = await lstat(path).catch(() => undefined);
      if (existing !== undefined && !existing.isDirectory()) await rm(path, { force: true });
      if (existing === undefined || !existing.isDirectory()) await mkdir(path, { mode: 0o700 });
      await lchown(path, owner.uid, owner.gid);
      await chmod(path, mode);
      return;
    }
    case "File":
    case "OldFile":
    case "ContiguousFile": {
      await replace(path);
      const file = await open(path, writeFlags, 0o600);
      try {
        for await (const chunk of entry) await file.write(chunk as Buffer);
        await file.chown(owner.uid, owner.gid);
        await file.chmod(mode); // after chown, which clears setuid and setgid
        if (entry.mtime !== undefined) await file.utimes(entry.atime ?? entry.mtime, entry.mtime);
      } finally {
        await file.close();
      }
      return;
    }
    case "SymbolicLink": {
      entry.resume();
      // The target is kept as written: it means something only inside the container, and nothing
      // here ever follows it (every later write checks its parents with lstat).
      await replace(path);
      await symlink(entry.linkpath ?? "", path);
      await lchown(path, owner.uid, owner.gid);
      return;
    }
    case "Link": {
      entry.resume();
      const targetParts = entryParts(entry.linkpath ?? "");
      if (targetParts.length === 0) throw layerRefused(entry.path, "its hard link names no file");
      const target = await prepareParents(dir, targetParts, entry.path);
      const targetInfo = await lstat(target).catch(() => undefined);
      if (targetInfo === undefined) throw layerRefused(entry.path, `its hard link target ${targetParts.join("/")} is not in the layer`);
      if (targetInfo.isDirectory()) throw layerRefused(entry.path, "its hard link target is a directory");
      await replace(path);
      await link(target, path);
      return;
    }
    case "CharacterDevice":
    case "BlockDevice":
    case "FIFO":
      entry.resume();
      skips.devices.push(parts.join("/"));
      return;
    default:
      entry.resume();
      throw layerRefused(entry.path, `entries of type ${entry.type} are not supported`);
  }
}

/** Removes whatever is at `path` (a directory with its content), never following a link. */
async function replace(path: string): Promise<void> {
  const existing = await lstat(path).catch(() => undefined);
  if (existing !== undefined) await rm(path, { recursive: existing.isDirectory(), force: true });
}

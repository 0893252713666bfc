import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";

/** As many symlinks as Linux follows in one path walk before ELOOP. */
const maxSymlinks = 40;

/**
 * The host path of `path` as a process chrooted into `rootfsDir` would see it: symlinks are followed
 * with `rootfsDir` as `/`, and `..` never climbs above it, so a hostile image cannot point the working
 * directory outside its root. Missing components are kept as written (the spawn then fails on them).
 *
 * @example
 * // with /merged/work -> /data inside the image
 * await resolveInRootfs("/merged", "/work/x"); // "/merged/data/x"
 */
export async function resolveInRootfs(rootfsDir: string, path: string): Promise<string> {
  const resolved: string[] = [];
  const pending = path.split("/");
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const candidate = join(rootfsDir, ...resolved, part);
    const stats = await lstat(candidate).catch(() => undefined);
    if (stats?.isSymbolicLink() !== true) {
      resolved.push(part);
      continue;
    }
    if (++links > maxSymlinks) {
      throw Object.assign(new Error(`Cannot resolve "${path}" in ${rootfsDir}: too many symbolic links`), {
        code: "ELOOP",
      });
    }
    const target = await readlink(candidate);
    if (target.startsWith("/")) resolved.length = 0;
    pending.unshift(...target.split("/"));
  }
  return join(rootfsDir, ...resolved);
}

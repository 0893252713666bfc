/**
 * A directory tree outside the daemon's root for escape tests: a minimal root filesystem (a shell
 * and a few tools with their libraries, copied from the host) plus files the tests check are never
 * touched, and a fingerprint of the tree to compare before and after.
 */
import { createHash } from "node:crypto";
import { copyFile, lstat, mkdir, readdir, readFile, readlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { execa } from "execa";

/**
 * Copies `/bin/sh` and `tools` (looked up in PATH) into `dir`, each with the shared libraries `ldd`
 * lists for it, at the same paths, so that a process chrooted into `dir` can run them.
 *
 * @example
 * await copyMinimalRootfs("/tmp/x", ["rm", "mkdir"]); // /tmp/x/bin/sh, /tmp/x/usr/bin/rm, /tmp/x/lib/…
 */
export async function copyMinimalRootfs(dir: string, tools: string[]): Promise<void> {
  const binaries = ["/bin/sh", ...(await Promise.all(tools.map(async (tool) => (await execa("sh", ["-c", `command -v ${tool}`])).stdout.trim())))];
  const files = new Set(binaries);
  for (const binary of binaries) {
    const { stdout } = await execa("ldd", [binary], { reject: false });
    for (const match of stdout.matchAll(/(\/\S+) \(0x[0-9a-f]+\)/g)) files.add(match[1]);
  }
  for (const file of files) {
    await mkdir(join(dir, dirname(file)), { recursive: true });
    await copyFile(file, join(dir, file)); // copyFile follows links: each is a plain file in the copy
  }
  await execa("chmod", ["-R", "a+rx", dir]);
}

/**
 * Every entry under `dir` with its type, mode, size, mtime and (for files) a SHA-256 of its bytes,
 * (for links) its target. Two equal fingerprints: nothing was written, added, removed or changed.
 */
export async function fingerprintTree(dir: string): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  const walk = async (path: string) => {
    const stats = await lstat(path);
    const key = path.slice(dir.length) || "/";
    const base = `${stats.mode.toString(8)} ${stats.size} ${stats.mtimeMs}`;
    if (stats.isSymbolicLink()) entries[key] = `link ${base} -> ${await readlink(path)}`;
    else if (stats.isFile()) entries[key] = `file ${base} ${createHash("sha256").update(await readFile(path)).digest("hex")}`;
    else if (stats.isDirectory()) {
      entries[key] = `dir ${stats.mode.toString(8)} ${stats.mtimeMs}`;
      for (const name of (await readdir(path)).sort()) await walk(join(path, name));
    } else entries[key] = `other ${base}`;
  };
  await walk(dir);
  return entries;
}

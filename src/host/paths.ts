/**
 * Path containment: every host function that removes, unmounts or writes a path first resolves it
 * here and refuses it unless it lies inside the daemon's root.
 */
import { lstatSync, readlinkSync, realpathSync } from "node:fs";
import path from "node:path";
import { CodedError } from "../errors/coded-error.ts";

/** The most symbolic links one resolution follows, as the kernel does (`MAXSYMLINKS`). */
const maxSymlinks = 40;

/** A path resolved (symlinks included) to somewhere outside the root it had to stay in. */
export class PathOutsideRootError extends CodedError {
  constructor(root: string, requested: string, resolved: string) {
    super("PERMISSION_DENIED", `Cannot use path: "${requested}" resolves to "${resolved}", outside "${root}"`, {
      details: { root, path: requested, resolved },
    });
    this.name = "PathOutsideRootError";
  }
}

/**
 * Whether `candidate` lies strictly beneath `root`, comparing the normalized strings only: no
 * symlink is followed and the root itself is not inside itself. Use it to filter paths that were
 * already resolved (for example mount points from mountinfo); use {@link resolveInsideRoot} for
 * anything that came from outside.
 *
 * @example
 * isInside("/var/lib/podvisor", "/var/lib/podvisor/shm/abc"); // true
 * isInside("/var/lib/podvisor", "/var/lib/podvisor-old/x"); // false
 */
export function isInside(root: string, candidate: string): boolean {
  const base = path.resolve(root);
  const target = path.resolve(candidate);
  const prefix = base === "/" ? "/" : `${base}/`;
  return target !== base && target.startsWith(prefix);
}

/**
 * Resolves `requested` the way the kernel would (every symlink, `..` after a symlink included) and
 * returns the result if it lies strictly beneath `realpath(root)`; throws
 * {@link PathOutsideRootError} otherwise. A relative `requested` is taken relative to `root`.
 * Components that do not exist yet are appended as they are, so a path about to be created can be
 * checked. The root itself must exist.
 *
 * @example
 * await resolveInsideRoot("/var/lib/podvisor", "shm/abc"); // "/var/lib/podvisor/shm/abc"
 * await resolveInsideRoot("/var/lib/podvisor", "/var/run/x"); // throws PathOutsideRootError
 */
export async function resolveInsideRoot(root: string, requested: string): Promise<string> {
  if (typeof requested !== "string" || requested === "") {
    throw new TypeError(`Cannot resolve path: expected a non-empty string, got ${JSON.stringify(requested)}`);
  }
  // Synchronous calls: a few microseconds each on the daemon's own root, where a trip through the
  // thread pool costs more than the call (thousands of paths are checked at a stop).
  const realRoot = realpathSync(root);
  const absolute = path.isAbsolute(requested) ? requested : `${root}/${requested}`;
  const resolved = resolveSymlinks(absolute, { root, realRoot });
  if (!isInside(realRoot, resolved)) throw new PathOutsideRootError(realRoot, requested, resolved);
  return resolved;
}

/**
 * Walks `absolute` one component at a time. When it starts with the (already normalized) root, the
 * walk starts from the root's realpath, so only the components beneath the root cost an `lstat`.
 */
function resolveSymlinks(absolute: string, options: { root: string; realRoot: string }): string {
  const { root, realRoot } = options;
  let current = "/";
  let rest = absolute;
  if (root === path.resolve(root) && absolute.startsWith(`${root}/`)) {
    current = realRoot;
    rest = absolute.slice(root.length);
  }
  const pending = components(rest);
  let followed = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === ".") continue;
    if (part === "..") {
      current = path.dirname(current);
      continue;
    }
    const next = current === "/" ? `/${part}` : `${current}/${part}`;
    const target = readSymlink(next);
    if (target === undefined) {
      current = next;
      continue;
    }
    if (++followed > maxSymlinks) {
      throw Object.assign(new Error(`Cannot resolve path: too many symbolic links in "${absolute}"`), {
        code: "ELOOP",
      });
    }
    pending.unshift(...components(target));
    if (path.isAbsolute(target)) current = "/";
  }
  return current;
}

/** The target of a symlink, or undefined for anything else, including a path that does not exist. */
function readSymlink(candidate: string): string | undefined {
  try {
    const stats = lstatSync(candidate, { throwIfNoEntry: false });
    return stats?.isSymbolicLink() === true ? readlinkSync(candidate) : undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

function components(value: string): string[] {
  return value.split("/").filter((part) => part !== "");
}

/**
 * Network namespaces laid out the way `ip netns` lays them out: a file `/run/netns/<name>` with the
 * namespace bind-mounted on it. Processes join one with `nsenter --net=<path>` (never
 * `ip netns exec`, which gives each process a private copy of the host's whole mount table).
 * Creating is in ./netns-create.ts, removing in ./netns-remove.ts.
 */
import { readdir } from "node:fs/promises";

/** Where `ip netns` (and so podvisor) keeps the namespace files; iproute2 has it built in. */
export const netnsDir = "/run/netns";

/** A network namespace podvisor made. */
export interface Netns {
  name: string;
  /** The file to join it through: `nsenter --net=<path>`. */
  path: string;
}

/** Letters, digits, `_`, `.`, `-`; not starting with `-` (`ip netns del -all` deletes them all). */
const namePattern = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/;

/**
 * Throws a TypeError unless `name` is a safe namespace name: 1–64 of `[A-Za-z0-9_.-]`, not
 * starting with `-`, not `.` or `..`.
 *
 * @example
 * validateNetnsName("pv-default-abc123"); // ok
 * validateNetnsName("../etc"); // throws TypeError
 */
export function validateNetnsName(name: string): void {
  if (typeof name !== "string" || !namePattern.test(name) || name === "." || name === "..") {
    throw new TypeError(
      `Cannot use network namespace name ${JSON.stringify(name)}: expected 1-64 of [A-Za-z0-9_.-], not starting with "-", not "." or ".."`,
    );
  }
}

/**
 * The file a namespace's name stands for; validates the name.
 *
 * @example
 * netnsPath("pv-default-abc123"); // "/run/netns/pv-default-abc123"
 */
export function netnsPath(name: string): string {
  validateNetnsName(name);
  return `${netnsDir}/${name}`;
}

/**
 * The names in `/run/netns` that start with `prefix`, sorted; for the daemon's leak check. A file
 * whose namespace is no longer mounted on it is listed too: it is a leftover all the same.
 *
 * @example
 * await listNetns("pv-default-"); // [] when nothing leaked
 */
export async function listNetns(prefix: string): Promise<string[]> {
  try {
    return (await readdir(netnsDir)).filter((name) => name.startsWith(prefix)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

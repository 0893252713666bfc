/**
 * Real leaks, made behind a daemon's back under its names, for the leak check's tests. Each is made
 * and unmade with the host's own tools (ip, mount, mkdir/rmdir, kill), not with the code under test,
 * and `remove()` is safe to call whatever the daemon did to it meanwhile.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { findCgroup2Mount } from "../../src/host/cgroup-path.ts";
import { isMounted } from "../../src/host/mountinfo.ts";
import { isAlive } from "./supervisor.ts";

export interface Leak {
  /** What the leak check should report it as: a netns name, a mount point, a cgroup path, a pid. */
  name: string;
  /** Whether it is still on the host. */
  exists(): Promise<boolean>;
  remove(): Promise<void>;
}

/** An id no sandbox or container has (lowercase letters and digits, like the daemon's). */
export function ghostId(): string {
  return `ghost${randomBytes(5).toString("hex")}`;
}

/** A network namespace `pv-<tag>-<id>` made with `ip netns add`, with no record. */
export async function leakNetns(tag: string, id = ghostId()): Promise<Leak> {
  const name = `pv-${tag}-${id}`;
  await execa("ip", ["netns", "add", name]);
  return {
    name,
    exists: async () => existsSync(`/run/netns/${name}`),
    remove: async () => void (await execa("ip", ["netns", "del", name], { reject: false })),
  };
}

/** A tmpfs mounted on `<root>/sandboxes/<id>/shm`, a sandbox directory no record owns. */
export async function leakMount(root: string, id = ghostId()): Promise<Leak> {
  const dir = join(root, "sandboxes", id);
  const name = join(dir, "shm");
  await mkdir(name, { recursive: true });
  await execa("mount", ["-t", "tmpfs", "-o", "size=1m", "pvtest", name]);
  return {
    name,
    exists: () => isMounted(name),
    remove: async () => {
      while (await isMounted(name)) await execa("umount", ["-l", name]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A `sleep` moved into the cgroup `path` (made if missing); `remove()` kills it and removes what it made. */
export async function leakProcess(path: string): Promise<Leak & { child: ResultPromise }> {
  const dir = join(await findCgroup2Mount(), path);
  const made = !existsSync(dir);
  await mkdir(dir, { recursive: true });
  const child = execa("sleep", ["1000"], { reject: false });
  const pid = child.pid as number;
  await writeFile(join(dir, "cgroup.procs"), String(pid));
  return {
    name: String(pid),
    child,
    exists: async () => isAlive(pid),
    remove: async () => {
      child.kill("SIGKILL");
      await child;
      if (made) await rmdir(dir).catch(() => {});
    },
  };
}

/** Whether a cgroup (relative to the cgroup2 mount) exists. */
export async function cgroupExists(path: string): Promise<boolean> {
  return existsSync(join(await findCgroup2Mount(), path));
}

/** Removes every leak, whatever state it is in. */
export async function removeLeaks(leaks: Leak[]): Promise<void> {
  for (const leak of leaks.splice(0).reverse()) await leak.remove();
}

/**
 * What the runtime tests make and unmake: a cgroup prefix of their own, log folders, a tiny rootfs.
 * The leak checks read the host directly (ps, /proc), not through the code under test.
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, realpath, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { customAlphabet } from "nanoid";
import { expect, vi } from "vitest";
import { testName, testTempPrefix } from "../support/test-run.ts";

const shortId = customAlphabet("abcdefghijklmnopqrstuvwxyz0123456789", 10);

/** A top-level cgroup name no other test (or daemon) uses. */
export function testCgroupPrefix(): string {
  return testName(shortId());
}

export function makeTempDir(label: string): Promise<string> {
  return mkdtemp(testTempPrefix(label));
}

export function removeTempDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** The state column of every child of this process: a leak check for zombies. */
export async function childStates(): Promise<string[]> {
  const { stdout } = await execa("ps", ["-o", "stat=", "--ppid", String(process.pid)], { reject: false });
  return stdout.split("\n").map((line) => line.trim()).filter((line) => line !== "");
}

/**
 * Expects that no child of this process stays a zombie: one the runtime reaps a moment later (the
 * process holder, let go at the end of a test, ends once its last child has) does not accumulate.
 */
export async function expectNoZombies(): Promise<void> {
  await expect.poll(async () => (await childStates()).filter((stat) => stat.startsWith("Z")), { timeout: 3_000 }).toEqual([]);
}

/** Whether a pid names a live (not zombie) process. */
export async function isLive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat !== undefined && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

/** Waits, until a deadline, for every pid to be gone (orphans are reaped by init, not by us). */
export async function expectPidsGone(pids: number[], timeout = 5_000): Promise<void> {
  await vi.waitFor(async () => {
    for (const pid of pids) expect(await isLive(pid), `pid ${pid} is still alive`).toBe(false);
  }, { timeout, interval: 10 });
}

/** Waits, until a deadline, for a file to contain `text`. */
export async function waitForFileText(path: string, text: string, timeout = 5_000): Promise<void> {
  await vi.waitFor(async () => {
    expect(await readFile(path, "utf8").catch(() => "")).toContain(text);
  }, { timeout, interval: 5 });
}

/**
 * A minimal root file system: the host's dash as /bin/sh, plus the listed host binaries and the
 * shared libraries they need (found with ldd). A plain directory: chroot does not need a mount.
 */
export async function makeTinyRootfs(dir: string, binaries: string[]): Promise<void> {
  const files = new Set<string>();
  for (const binary of ["/bin/sh", ...binaries]) {
    files.add(binary);
    const { stdout } = await execa("ldd", [binary], { reject: false });
    for (const match of stdout.matchAll(/(\/\S+) \(0x/g)) files.add(match[1]);
  }
  for (const file of files) {
    const target = join(dir, file);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(await realpath(file), target);
    await chmod(target, 0o755);
  }
}

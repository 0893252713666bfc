/**
 * What the host tests make and unmake. Cleanup here deliberately does not use the code under test:
 * it reads mountinfo itself and runs umount/rm directly, so a broken module cannot hide its leaks.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { execa } from "execa";
import { testName, testTempPrefix } from "../support/test-run.ts";

/** A fresh directory under /tmp for one test, already realpath-ed (/tmp is not a symlink here). */
export async function makeTempDir(label: string): Promise<string> {
  return await mkdtemp(testTempPrefix(label));
}

/** A network namespace name no other test (or daemon) uses. */
export function testNetnsName(): string {
  return testName(randomBytes(6).toString("hex"));
}

/** Mount points (decoded) on `dir` or under it, deepest first, straight from the kernel. */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))))
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .reverse()
    .sort((a, b) => b.split("/").length - a.split("/").length);
}

/** Mounts a small tmpfs on `dir` with mount(8) directly. */
export async function mountTmpfs(dir: string): Promise<void> {
  await execa("mount", ["-t", "tmpfs", "-o", "size=1m", "pvtest", dir]);
}

/** Detaches everything mounted on or under each dir, then removes the dirs. */
export async function removeTempDirs(dirs: string[]): Promise<void> {
  for (const dir of dirs.splice(0)) {
    for (const point of await mountPointsUnder(dir)) await execa("umount", ["-l", point], { reject: false });
    await rm(dir, { recursive: true, force: true });
  }
}

/** Detaches and deletes `/run/netns/<name>` for each name, whatever state it is in. */
export async function removeTestNetns(names: string[]): Promise<void> {
  for (const name of names.splice(0)) {
    const path = `/run/netns/${name}`;
    while ((await mountPointsUnder(path)).length > 0) await execa("umount", ["-l", path]);
    await rm(path, { force: true });
  }
}

import { mkdir, symlink } from "node:fs/promises";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { unmountMany, unmountPath } from "../../src/host/unmount.ts";
import { makeTempDir, mountPointsUnder, mountTmpfs, removeTempDirs } from "./host-fixtures.ts";

const made: string[] = [];
const processes: ResultPromise[] = [];
let root: string;

beforeEach(async () => {
  root = await makeTempDir("unmount");
  made.push(root);
});

afterEach(async () => {
  for (const child of processes.splice(0)) {
    child.kill("SIGKILL");
    await child.catch(() => {});
  }
  await removeTempDirs(made);
});

async function mountedDirs(count: number): Promise<string[]> {
  const dirs = Array.from({ length: count }, (_, i) => `${root}/m${i}`);
  for (const dir of dirs) {
    await mkdir(dir);
    await mountTmpfs(dir);
  }
  return dirs;
}

describe("unmountMany()", () => {
  test("unmountMany() unmounts every mounted path and reports the ones that were not mounted", async () => {
    const dirs = await mountedDirs(30);
    const result = await unmountMany([...dirs, `${root}/never`, dirs[0]], { root });
    expect(result.unmounted.sort()).toEqual([...dirs].sort());
    expect(result.notMounted).toEqual([`${root}/never`]);
    expect(result.refused).toEqual([]);
    expect(result.failed).toEqual([]);
    expect(await mountPointsUnder(root)).toEqual([]);
  });

  test("unmountMany() takes what is mounted beneath a target first (as a container's binds under its rootfs), and nothing beside it", async () => {
    const [target, beside] = await mountedDirs(2);
    await mkdir(`${target}/etc/deeper`, { recursive: true });
    await mountTmpfs(`${target}/etc`);
    await mkdir(`${target}/etc/deeper`);
    await mountTmpfs(`${target}/etc/deeper`);
    const result = await unmountMany([target], { root });
    expect(result).toEqual({ unmounted: [target], notMounted: [], refused: [], failed: [] });
    expect(await mountPointsUnder(root)).toEqual([beside]);
  });

  test("unmountMany() refuses paths outside the root, leaves them mounted, and still does the rest", async () => {
    const [inside] = await mountedDirs(1);
    const outside = await makeTempDir("unmount-outside");
    made.push(outside);
    await mountTmpfs(outside);
    await symlink(outside, `${root}/escape`);
    const result = await unmountMany([inside, outside, `${root}/escape`], { root });
    expect(result.unmounted).toEqual([inside]);
    expect(result.refused.map(({ path }) => path).sort()).toEqual([outside, `${root}/escape`].sort());
    expect(result.refused.every(({ error }) => (error as { code?: string }).code === "PERMISSION_DENIED")).toBe(true);
    expect(await mountPointsUnder(outside)).toEqual([outside]);
  });

  test("unmountMany() removes every mount stacked on one mount point", async () => {
    const [dir] = await mountedDirs(1);
    await mountTmpfs(dir);
    await mountTmpfs(dir);
    expect((await unmountMany([dir], { root })).unmounted).toEqual([dir]);
    expect(await mountPointsUnder(root)).toEqual([]);
  });

  test("unmountMany() reports a mount hidden under a parent bind-mounted onto itself as failed, not as not mounted", async () => {
    const [dir] = await mountedDirs(1);
    await mkdir(`${dir}/inner`);
    await mountTmpfs(`${dir}/inner`);
    await execa("mount", ["--bind", dir, dir]); // non-recursive: `${dir}/inner` now leads to the plain directory
    try {
      const result = await unmountMany([`${dir}/inner`], { root });
      expect(result.notMounted).toEqual([]);
      expect(result.failed.map(({ path }) => path)).toEqual([`${dir}/inner`]);
    } finally {
      await execa("umount", [dir]);
    }
  });

  test("unmountMany() takes a stack deeper than its direct tries through the mount table, and counts the path once", async () => {
    const [dir] = await mountedDirs(1);
    for (let i = 0; i < 11; i++) await mountTmpfs(dir);
    expect(await unmountMany([dir], { root })).toEqual({ unmounted: [dir], notMounted: [], refused: [], failed: [] });
    expect(await mountPointsUnder(root)).toEqual([]);
  });
});

describe("unmountPath()", () => {
  test("unmountPath() detaches a busy mount lazily", async () => {
    const [dir] = await mountedDirs(1);
    const busy = execa("sleep", ["600"], { cwd: dir });
    processes.push(busy);
    const plain = await execa("umount", [dir], { reject: false });
    expect(plain.stderr).toMatch(/busy/);
    expect(await unmountPath(dir, { root })).toBe("unmounted");
    expect(await mountPointsUnder(root)).toEqual([]);
  });

  test("unmountPath() succeeds when the path is not mounted", async () => {
    await mkdir(`${root}/plain`);
    expect(await unmountPath(`${root}/plain`, { root })).toBe("not-mounted");
  });

  test("unmountPath() refuses the root itself", async () => {
    await mountTmpfs(root);
    await expect(unmountPath(root, { root })).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    expect(await mountPointsUnder(root)).toEqual([root]);
  });
});

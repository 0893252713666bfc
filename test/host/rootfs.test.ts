import { mkdir, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { mountRootfs, unmountRootfs } from "../../src/host/rootfs.ts";
import { makeTempDir, mountPointsUnder, mountTmpfs, removeTempDirs } from "./host-fixtures.ts";

const made: string[] = [];
let root: string;
let lowerDir: string;

beforeEach(async () => {
  root = await makeTempDir("rootfs");
  lowerDir = await makeTempDir("rootfs-lower");
  made.push(root, lowerDir);
  await writeFile(`${lowerDir}/image-file`, "from the image\n");
});

afterEach(async () => {
  await removeTempDirs(made);
});

describe("mountRootfs()", () => {
  test("mountRootfs() shows the lower dir in merged and keeps writes in upper", async () => {
    const { mergedDir, upperDir } = await mountRootfs({ lowerDir, containerDir: "containers/c1", root });
    expect(mergedDir).toBe(`${root}/containers/c1/merged`);
    expect(await readFile(`${mergedDir}/image-file`, "utf8")).toBe("from the image\n");
    await writeFile(`${mergedDir}/written`, "by the container\n");
    expect(await readFile(`${upperDir}/written`, "utf8")).toBe("by the container\n");
    expect(await readdir(lowerDir)).toEqual(["image-file"]);
  });

  test("mountRootfs() does nothing when the rootfs is already mounted", async () => {
    await mountRootfs({ lowerDir, containerDir: "c1", root });
    await mountRootfs({ lowerDir, containerDir: "c1", root });
    expect(await mountPointsUnder(root)).toEqual([`${root}/c1/merged`]);
  });

  test("mountRootfs() refuses a lower dir that does not exist or is not a directory", async () => {
    await expect(mountRootfs({ lowerDir: `${lowerDir}/missing`, containerDir: "c1", root })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(mountRootfs({ lowerDir: `${lowerDir}/image-file`, containerDir: "c1", root })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    expect(await mountPointsUnder(root)).toEqual([]);
  });

  test("mountRootfs() refuses a container dir outside the root", async () => {
    await expect(mountRootfs({ lowerDir, containerDir: lowerDir, root })).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
    });
    expect(await readdir(lowerDir)).toEqual(["image-file"]);
  });

  test("mountRootfs() refuses a merged dir that is a symlink leading outside the root", async () => {
    await mkdir(`${root}/c1`);
    await symlink(lowerDir, `${root}/c1/merged`);
    await expect(mountRootfs({ lowerDir, containerDir: "c1", root })).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    expect(await mountPointsUnder(lowerDir)).toEqual([]);
  });
});

describe("unmountRootfs()", () => {
  test("unmountRootfs() unmounts, keeps upper, and succeeds again when already unmounted", async () => {
    const { mergedDir, upperDir } = await mountRootfs({ lowerDir, containerDir: "c1", root });
    await writeFile(`${mergedDir}/written`, "kept\n");
    expect(await unmountRootfs(`${root}/c1`, { root })).toBe("unmounted");
    expect(await mountPointsUnder(root)).toEqual([]);
    expect(await readdir(mergedDir)).toEqual([]);
    expect(await readdir(upperDir)).toEqual(["written"]);
    expect(await unmountRootfs(`${root}/c1`, { root })).toBe("not-mounted");
  });

  test("unmountRootfs() succeeds for a container that never had a rootfs", async () => {
    expect(await unmountRootfs("containers/unknown", { root })).toBe("not-mounted");
  });

  test("unmountRootfs() refuses a container dir that is a symlink outside the root and leaves that mount alone", async () => {
    const outside = await makeTempDir("rootfs-outside");
    made.push(outside);
    await mkdir(`${outside}/merged`);
    await mountTmpfs(`${outside}/merged`);
    await symlink(outside, `${root}/c1`);
    await expect(unmountRootfs(`${root}/c1`, { root })).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    expect(await mountPointsUnder(outside)).toEqual([`${outside}/merged`]);
  });

  test("unmountRootfs() refuses a merged dir that is a symlink outside the root and leaves that mount alone", async () => {
    const outside = await makeTempDir("rootfs-outside");
    made.push(outside);
    await mountTmpfs(outside);
    await mkdir(`${root}/c1`);
    await symlink(outside, `${root}/c1/merged`);
    await expect(unmountRootfs("c1", { root })).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    expect(await mountPointsUnder(outside)).toEqual([outside]);
  });
});

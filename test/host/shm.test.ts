import { mkdir, stat, symlink } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { mountsUnder } from "../../src/host/mountinfo.ts";
import { mountShm, unmountShm } from "../../src/host/shm.ts";
import { makeTempDir, mountPointsUnder, mountTmpfs, removeTempDirs } from "./host-fixtures.ts";

const made: string[] = [];
let root: string;

beforeEach(async () => {
  root = await makeTempDir("shm");
  made.push(root);
});

afterEach(async () => {
  await removeTempDirs(made);
});

async function shmMount(path: string) {
  const [mount] = await mountsUnder(path);
  return mount;
}

describe("mountShm()", () => {
  test("mountShm() mounts a 64 MiB tmpfs with mode 1777, nosuid, nodev and noexec by default", async () => {
    const path = await mountShm("sandboxes/a/shm", { root });
    expect(path).toBe(`${root}/sandboxes/a/shm`);
    const mount = await shmMount(path);
    expect(mount).toMatchObject({ fsType: "tmpfs", source: "shm", mountPoint: path });
    expect(mount.superOptions.split(",")).toContain("size=65536k");
    expect((await stat(path)).mode & 0o7777).toBe(0o1777); // tmpfs lists mode= only when it is not 1777
    expect(mount.mountOptions.split(",")).toEqual(expect.arrayContaining(["nosuid", "nodev", "noexec"]));
  });

  test("mountShm() gives the tmpfs the requested size", async () => {
    const path = await mountShm(`${root}/shm`, { root, sizeBytes: 8 * 1024 * 1024 });
    expect((await shmMount(path)).superOptions.split(",")).toContain("size=8192k");
  });

  test("mountShm() does nothing when the shm is already mounted", async () => {
    await mountShm("shm", { root });
    await mountShm("shm", { root });
    expect(await mountPointsUnder(root)).toEqual([`${root}/shm`]);
  });

  test("mountShm() refuses a path outside the root and a size that is not a positive integer", async () => {
    await expect(mountShm("../elsewhere", { root })).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    await expect(mountShm("shm", { root, sizeBytes: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(mountShm("shm", { root, sizeBytes: 1.5 })).rejects.toBeInstanceOf(RangeError);
    expect(await mountPointsUnder(root)).toEqual([]);
  });
});

describe("unmountShm()", () => {
  test("unmountShm() unmounts, and succeeds again when the shm is no longer mounted", async () => {
    const path = await mountShm("shm", { root });
    expect(await unmountShm(path, { root })).toBe("unmounted");
    expect(await mountPointsUnder(root)).toEqual([]);
    expect(await unmountShm(path, { root })).toBe("not-mounted");
  });

  test("unmountShm() succeeds for a path that never existed", async () => {
    expect(await unmountShm("sandboxes/none/shm", { root })).toBe("not-mounted");
  });

  test("unmountShm() resolves a symlink that stays inside the root", async () => {
    const path = await mountShm("real/shm", { root });
    await symlink(`${root}/real`, `${root}/alias`);
    expect(await unmountShm(`${root}/alias/shm`, { root })).toBe("unmounted");
    expect(await mountPointsUnder(path)).toEqual([]);
  });

  test("unmountShm() refuses a symlink that points outside the root and leaves that mount alone", async () => {
    const outside = await makeTempDir("shm-outside");
    made.push(outside);
    await mountTmpfs(outside);
    await mkdir(`${root}/sandbox`);
    await symlink(outside, `${root}/sandbox/shm`);
    await expect(unmountShm(`${root}/sandbox/shm`, { root })).rejects.toMatchObject({
      name: "PathOutsideRootError",
      code: "PERMISSION_DENIED",
    });
    expect(await mountPointsUnder(outside)).toEqual([outside]);
  });
});

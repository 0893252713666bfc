import { dirname, join } from "node:path";
import { mkdir, symlink } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { isInside, PathOutsideRootError, resolveInsideRoot } from "../../src/host/paths.ts";
import { makeTempDir, removeTempDirs } from "./host-fixtures.ts";

const made: string[] = [];
let root: string;
let outside: string;

beforeEach(async () => {
  root = await makeTempDir("paths-root");
  outside = await makeTempDir("paths-outside");
  made.push(root, outside);
  await mkdir(`${root}/a/b`, { recursive: true });
});

afterEach(async () => {
  await removeTempDirs(made);
});

describe("isInside()", () => {
  test("isInside() is true only strictly beneath the root", () => {
    expect(isInside("/var/lib/pv", "/var/lib/pv/shm/x")).toBe(true);
    expect(isInside("/var/lib/pv/", "/var/lib/pv/shm")).toBe(true);
    expect(isInside("/var/lib/pv", "/var/lib/pv")).toBe(false);
    expect(isInside("/var/lib/pv", "/var/lib/pv-old/x")).toBe(false);
    expect(isInside("/var/lib/pv", "/var/lib/pv/../pv-old")).toBe(false);
    expect(isInside("/", "/etc")).toBe(true);
  });
});

describe("resolveInsideRoot()", () => {
  test("resolveInsideRoot() takes a relative path relative to the root", async () => {
    expect(await resolveInsideRoot(root, "a/b")).toBe(`${root}/a/b`);
  });

  test("resolveInsideRoot() accepts an absolute path inside the root, existing or not", async () => {
    expect(await resolveInsideRoot(root, `${root}/a/b/c/d`)).toBe(`${root}/a/b/c/d`);
  });

  test("resolveInsideRoot() refuses a path that climbs out with ..", async () => {
    const refusal = resolveInsideRoot(root, "a/../../etc");
    await expect(refusal).rejects.toBeInstanceOf(PathOutsideRootError);
    await expect(refusal).rejects.toMatchObject({ code: "PERMISSION_DENIED", details: { resolved: join(dirname(root), "etc") } });
  });

  test("resolveInsideRoot() refuses an absolute path elsewhere", async () => {
    await expect(resolveInsideRoot(root, "/etc/passwd")).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
  });

  test("resolveInsideRoot() refuses the root itself", async () => {
    await expect(resolveInsideRoot(root, root)).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
  });

  test("resolveInsideRoot() follows a chain of symlinks that ends inside the root", async () => {
    await symlink("l2", `${root}/l1`);
    await symlink(`${root}/a`, `${root}/l2`);
    expect(await resolveInsideRoot(root, "l1/b/new")).toBe(`${root}/a/b/new`);
  });

  test("resolveInsideRoot() refuses a chain of symlinks that ends outside the root", async () => {
    await symlink("l2", `${root}/l1`);
    await symlink("a/b/l3", `${root}/l2`);
    await symlink(outside, `${root}/a/b/l3`);
    await expect(resolveInsideRoot(root, `${root}/l1/shm`)).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
      details: { resolved: `${outside}/shm` },
    });
  });

  test("resolveInsideRoot() applies .. after a symlink to the symlink's target, as the kernel does", async () => {
    await symlink(`${root}/a/b`, `${root}/link`);
    expect(await resolveInsideRoot(root, "link/../c")).toBe(`${root}/a/c`);
    await symlink(outside, `${root}/out`);
    await expect(resolveInsideRoot(root, "out/../x")).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
  });

  test("resolveInsideRoot() resolves a root that is itself a symlink", async () => {
    const rootLink = `${outside}/root-link`;
    await symlink(root, rootLink);
    expect(await resolveInsideRoot(rootLink, "a")).toBe(`${root}/a`);
    expect(await resolveInsideRoot(rootLink, `${rootLink}/a`)).toBe(`${root}/a`);
  });

  test("resolveInsideRoot() fails on a symlink loop instead of spinning", async () => {
    await symlink("loop2", `${root}/loop1`);
    await symlink("loop1", `${root}/loop2`);
    await expect(resolveInsideRoot(root, "loop1/x")).rejects.toMatchObject({ code: "ELOOP" });
  });

  test("resolveInsideRoot() throws a TypeError for an empty path", async () => {
    await expect(resolveInsideRoot(root, "")).rejects.toBeInstanceOf(TypeError);
  });
});

/**
 * The benchmark's rootfs for runc/crun: Debian's busybox-static with relative applet links, checked
 * by running its applets chrooted into it (an absolute link would dangle there, as in a container).
 */
import { lstat, mkdtemp, readlink, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { makeBusyboxRootfs } from "../../bench/teardown/busybox-rootfs.ts";

let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-rootfs-"));
  await makeBusyboxRootfs(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("makeBusyboxRootfs()", () => {
  test("links every applet relatively to the one busybox inside the folder", async () => {
    const applets = (await execa("/bin/busybox", ["--list-full"])).stdout.split("\n").filter((applet) => applet !== "bin/busybox");
    expect(applets.length).toBeGreaterThan(100);
    for (const applet of applets) {
      const link = join(dir, applet);
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      const target = await readlink(link);
      expect(target.startsWith("/")).toBe(false);
      expect(resolve(dirname(link), target)).toBe(join(dir, "bin", "busybox"));
    }
    expect((await stat(join(dir, "tmp"))).mode & 0o7777).toBe(0o1777);
    expect((await readdir(dir)).toSorted()).toEqual(expect.arrayContaining(["bin", "dev", "etc", "proc", "sys", "tmp", "usr"]));
  });

  test("runs the benchmark's workloads chrooted into it, by name through PATH", async () => {
    const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
    const result = await execa("chroot", [dir, "sh", "-c", "trap '' TERM; sleep 0 && printf ok"], { env, extendEnv: false });
    expect(result.stdout).toBe("ok");
    expect((await execa("chroot", [dir, "/usr/bin/env"], { env, extendEnv: false })).stdout).toContain("PATH=");
  });

  test("says what to install when busybox is missing", async () => {
    const other = await mkdtemp(join(tmpdir(), "pvtest-rootfs-"));
    try {
      await expect(makeBusyboxRootfs(other, { busybox: "/nonexistent/busybox" })).rejects.toThrow(/install Debian's busybox-static/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

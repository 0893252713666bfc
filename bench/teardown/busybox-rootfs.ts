/**
 * A root filesystem for the benchmark's containers on the OCI backends (runc, crun), which need
 * one: Debian's busybox-static copied into a folder, every applet a RELATIVE link to it
 * (`usr/bin/sleep -> ../../bin/busybox`). `busybox --install -s` makes absolute links to the
 * busybox it ran, which dangle inside a container (see DESIGN.md).
 */
import { chmod, copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { execa } from "execa";

/** Where Debian's busybox-static puts its binary. */
export const defaultBusybox = "/bin/busybox";

/** Folders a container expects, besides those the applets live in. */
const folders = ["dev", "proc", "sys", "tmp", "run", "root", "etc", "var/tmp"];

/**
 * Fills the empty folder `dir` with busybox and its applets; gives `dir`. Throws a clear error when
 * busybox is not there (install busybox-static) or is not the static one.
 *
 * @example
 * const rootfs = await makeBusyboxRootfs(await mkdtemp(join(tmpdir(), "pvbench-rootfs-")));
 * // a container config { command: ["sleep", "100000"], rootfs }
 */
export async function makeBusyboxRootfs(dir: string, options: { busybox?: string } = {}): Promise<string> {
  const busybox = options.busybox ?? defaultBusybox;
  const listed = await execa(busybox, ["--list-full"], { reject: false });
  if (listed.exitCode !== 0) {
    throw new Error(`Cannot make the benchmark's rootfs: ${busybox} --list-full failed (${listed.shortMessage}); install Debian's busybox-static`);
  }
  const ldd = await execa("ldd", [busybox], { reject: false });
  if (ldd.exitCode === 0 && !/not a dynamic executable|statically linked/.test(`${ldd.stdout}${ldd.stderr}`)) {
    throw new Error(`Cannot make the benchmark's rootfs: ${busybox} is linked dynamically and would not run alone in a container; install busybox-static`);
  }
  const target = join(dir, "bin", "busybox");
  await mkdir(dirname(target), { recursive: true });
  await copyFile(busybox, target);
  await chmod(target, 0o755);
  for (const folder of folders) await mkdir(join(dir, folder), { recursive: true });
  await chmod(join(dir, "tmp"), 0o1777);
  await writeFile(join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  await writeFile(join(dir, "etc", "group"), "root:x:0:\n");
  for (const applet of listed.stdout.split("\n").map((line) => line.trim()).filter(Boolean)) {
    if (applet.startsWith("/") || applet.split("/").includes("..") || applet === "bin/busybox") continue;
    const link = join(dir, applet);
    await mkdir(dirname(link), { recursive: true });
    await symlink(relative(dirname(link), target), link);
  }
  return dir;
}

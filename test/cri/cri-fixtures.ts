/** What the CRI tests make: a busybox root file system (static busybox from Debian's busybox-static), and CRI configs. */
import { copyFile, mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";

const applets = ["sh", "sleep", "echo", "cat", "pwd", "env", "ls", "true", "false", "ip"];

/** A root file system with busybox and its applets in /bin, /dev/null, and an empty /work. */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  await mkdir(join(dir, "bin"), { recursive: true });
  await mkdir(join(dir, "work"));
  await copyFile("/usr/bin/busybox", join(dir, "bin", "busybox"));
  for (const applet of applets) await symlink("busybox", join(dir, "bin", applet));
  // The shell opens /dev/null for a background job's stdin.
  await mkdir(join(dir, "dev"));
  await execa("mknod", ["-m", "666", join(dir, "dev", "null"), "c", "1", "3"]);
  return dir;
}

export function podConfig(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { metadata: { name, uid: `uid-${name}`, namespace: "testns", attempt: 1 }, ...extra };
}

export function containerConfig(name: string, rootfs: string, command: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { metadata: { name, attempt: 0 }, image: { image: rootfs }, command, linux: { security_context: { privileged: true } }, ...extra };
}

/**
 * The root of infra (pause) containers that come without a rootfs: a read-only folder holding only a
 * copy of the host's catatonit (statically linked) and the mount points runc needs. The container runs
 * `catatonit -P` (pause mode: it holds the sandbox's namespaces and does nothing), as podman's pause
 * image does, in place of the process backend's `sleep infinity`.
 */
import { chmod, copyFile, mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { nanoid } from "nanoid";

export const pauseCommand = ["/catatonit", "-P"];

/**
 * Makes `<dir>` the pause root if it is not yet (a copy in place, renamed into `catatonit` whole, so a
 * concurrent container never sees half a binary). Resolves with `dir`.
 */
export async function preparePauseRootfs(dir: string, catatonitPath: string): Promise<string> {
  for (const sub of ["proc", "dev", "sys"]) await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });
  const partial = join(dir, `.catatonit-${nanoid(8)}`);
  await copyFile(catatonitPath, partial);
  await chmod(partial, 0o755);
  await rename(partial, join(dir, "catatonit"));
  return dir;
}

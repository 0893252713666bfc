import { mkdir, readFile, readlink, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, test } from "vitest";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import { makeTinyRootfs, testCgroupPrefix } from "./runtime-fixtures.ts";
import { useRuntimeHarness } from "./runtime-harness.ts";

const deadline = () => AbortSignal.timeout(10_000);

describe("ProcessBackend isolation", () => {
  const h = useRuntimeHarness(() => new ProcessBackend());
  const netns: string[] = [];

  afterEach(async () => {
    for (const name of netns.splice(0)) await execa("ip", ["netns", "del", name], { reject: false });
  });

  async function makeNetns(): Promise<string> {
    const name = testCgroupPrefix(); // pvtest-<random>, also a fine netns name
    await execa("ip", ["netns", "add", name]);
    netns.push(name);
    return `/run/netns/${name}`;
  }

  async function makeRootfs(): Promise<string> {
    const rootfs = join(h.dir, "rootfs");
    await makeTinyRootfs(rootfs, ["/bin/cat"]);
    await mkdir(join(rootfs, "data"));
    await writeFile(join(rootfs, "marker"), "inside the rootfs\n");
    // Absolute, so read on the host it would name the host's /data: it must resolve inside the rootfs.
    await symlink("/data", join(rootfs, "work"));
    return rootfs;
  }

  test("the command joins the network namespace it is given", async () => {
    const netnsPath = await makeNetns();
    const { id, logPath } = await h.run(["readlink", "/proc/self/ns/net"], { netnsPath });
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ exitCode: 0 });
    const inode = (await stat(netnsPath)).ino;
    expect(await readFile(logPath, "utf8")).toBe(`net:[${inode}]\n`);
    expect(await readlink("/proc/self/ns/net")).not.toBe(`net:[${inode}]`);
  });

  test("the command runs chrooted into the rootfs, in a working directory resolved inside it", async () => {
    const rootfsDir = await makeRootfs();
    const { id, logPath } = await h.run(["sh", "-c", "pwd -P; cat /marker"], { rootfsDir, cwd: "/work" });
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ exitCode: 0 });
    expect(await readFile(logPath, "utf8")).toBe("/data\ninside the rootfs\n");
  });

  test("a network namespace and a rootfs together: the netns is joined before the chroot", async () => {
    const netnsPath = await makeNetns();
    const rootfsDir = await makeRootfs();
    const { id, logPath } = await h.run(["cat", "/marker"], { rootfsDir, netnsPath });
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ exitCode: 0 });
    expect(await readFile(logPath, "utf8")).toBe("inside the rootfs\n");
  });

  test("a command missing from the rootfs exits 127 and says so in the log", async () => {
    const rootfsDir = await makeRootfs();
    const { id, logPath } = await h.run(["no-such-command"], { rootfsDir });
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ exitCode: 127 });
    expect(await readFile(logPath, "utf8")).toMatch(/no-such-command/);
  });
});

/**
 * Path-like fields built to escape the daemon's root. A `rootfs` is a client directory used as the
 * overlay's read-only lower layer, so one outside the root is legitimate (an image); what must hold
 * is that nothing outside the root is ever written, mounted on, unmounted or deleted. A sentinel
 * tree outside the root is fingerprinted before and compared after; the mount table is checked
 * while the containers run and after they are gone.
 */
import { lstat, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isInside } from "../../src/host/paths.ts";
import { readMountinfo } from "../../src/host/mountinfo.ts";
import { startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { PipeClient } from "../support/pipe-client.ts";
import { runtimes } from "../support/runtimes.ts";
import { copyMinimalRootfs, fingerprintTree } from "../support/sentinel-tree.ts";
import { noLeftovers, waitUntil } from "../support/supervisor.ts";

/** Everything the container tries, each write aimed at the image or past it. */
const hostileScript = [
  "echo pwned > /etc/file",
  "echo new > /new-file",
  "rm -f /etc/remove-me",
  "mkdir -p /data/nested/more && echo x > /data/nested/more/f",
  'mkdir -p "$VICTIM" && echo through > /escape/file', // /escape -> $VICTIM, an absolute path outside
  "echo up > /up/up-file", // /up -> ../../../../..
  "echo link > /etc/host-link", // /etc/host-link -> /etc/hostname
  "cd /../../.. && echo dotdot > ./dotdot-file",
  "echo done",
].join("\n");

/**
 * Mount points of the host's own mounts, not the transient ones tests make, theirs or others' (every
 * test root is a `/tmp/pv…` directory; a mount under the sentinel tree would show in its fingerprint).
 */
async function stableMountPoints(): Promise<Set<string>> {
  const transient = /^\/tmp\/pv|pvtest-|^\/run\/netns\/|podvisor/;
  return new Set((await readMountinfo()).map((mount) => mount.mountPoint).filter((point) => !transient.test(point)));
}

describe.each(runtimes)("paths built to escape the root of a daemon on %s", (runtime) => {
  let daemon: DaemonProcess;
  let client: PipeClient;
  let outside: string;
  let image: string;
  let victim: string;
  const fingerprints: Record<string, Record<string, string>> = {};

  beforeAll(async () => {
    daemon = await startDaemonProcess(runtime);
    client = await PipeClient.connect(daemon.socket);
    // The sentinel tree, outside the daemon's root: an image, a victim, and links to both.
    outside = await realpath(await mkdtemp(join(tmpdir(), "pvtest-outside-")));
    image = join(outside, "image");
    victim = join(outside, "victim");
    await copyMinimalRootfs(image, ["rm", "mkdir"]);
    await mkdir(join(image, "etc"), { recursive: true });
    await mkdir(join(image, "data", "nested"), { recursive: true });
    await mkdir(victim);
    await writeFile(join(image, "etc", "file"), "original\n");
    await writeFile(join(image, "etc", "remove-me"), "keep me\n");
    await writeFile(join(image, "data", "nested", "deep.txt"), "deep\n");
    await writeFile(join(victim, "file"), "untouched\n");
    await symlink(victim, join(image, "escape"));
    await symlink("../../../../..", join(image, "up"));
    await symlink("/etc/hostname", join(image, "etc", "host-link"));
    await mkdir(join(outside, "links"));
    await symlink("../image", join(outside, "links", "image"));
    await mkdir(join(outside, "odd,upperdir=x"));
    await symlink(join(outside, "odd,upperdir=x"), join(outside, "links", "odd"));
    await symlink(join(outside, "nowhere"), join(outside, "links", "dangling"));
    fingerprints.before = await fingerprintTree(outside);
  });

  afterAll(async () => {
    client?.close();
    if (daemon !== undefined) expect(await daemon.stop()).toEqual(noLeftovers);
    if (outside !== undefined) await rm(outside, { recursive: true, force: true });
  });

  test("a rootfs outside the root, named through a symlink, '..' or /proc/self/root, is only ever a read-only lower layer", async () => {
    const mountsBefore = await stableMountPoints();
    const hostname = await readFile("/etc/hostname", "utf8").catch(() => undefined);
    const { result: run } = await client.call("RunPodSandbox", { config: { name: "escape" } });
    const podSandboxId = run.podSandboxId as string;
    const spellings = [
      { rootfs: join(outside, "links", "image"), cwd: "/" },
      { rootfs: `${outside}/links/../image/data/../../image`, cwd: "/../../../etc" }, // a literal '..' (join would fold it)
      { rootfs: `/proc/self/root${image}`, cwd: "/up" },
    ];
    const containerIds: string[] = [];
    for (const [index, { rootfs, cwd }] of spellings.entries()) {
      const created = await client.call("CreateContainer", { podSandboxId, config: { name: `hostile-${index}`, command: ["/bin/sh", "-c", hostileScript], env: { VICTIM: victim }, rootfs, cwd } });
      expect(created.error).toBeUndefined();
      containerIds.push(created.result.containerId);
      expect(await client.call("StartContainer", { containerId: created.result.containerId })).toMatchObject({ result: {} });
    }
    const statuses = [];
    for (const containerId of containerIds) {
      await waitUntil(async () => (await client.call("ContainerStatus", { containerId })).result.status.state === "exited", 20_000);
      statuses.push((await client.call("ContainerStatus", { containerId })).result.status);
    }

    // While the overlays are mounted: the image is a lower layer only, under mounts inside the root.
    const overlays = (await readMountinfo()).filter((mount) => mount.superOptions.includes(image));
    expect(overlays).toHaveLength(spellings.length);
    for (const mount of overlays) {
      expect(mount.fsType).toBe("overlay");
      expect(isInside(daemon.root, mount.mountPoint)).toBe(true);
      expect(mount.superOptions).toContain(`lowerdir=${image},`);
      expect(/upperdir=([^,]+)/.exec(mount.superOptions)?.[1]).toSatisfy((upper: string) => isInside(daemon.root, upper));
    }
    for (const status of statuses) {
      expect(status).toMatchObject({ state: "exited", exitCode: 0 });
      expect(await readFile(status.logPath, "utf8")).toContain("done");
      // Every write landed in the container's upper dir, under the root.
      const upper = join(dirname(status.logPath), "upper");
      expect(isInside(daemon.root, upper)).toBe(true);
      expect(await readFile(join(upper, "etc", "file"), "utf8")).toBe("pwned\n");
      expect(await readFile(join(upper, "new-file"), "utf8")).toBe("new\n");
      expect(await readFile(join(upper, "data", "nested", "more", "f"), "utf8")).toBe("x\n");
      expect(await readFile(join(upper, victim, "file"), "utf8")).toBe("through\n");
      expect(await readFile(join(upper, "up-file"), "utf8")).toBe("up\n");
      expect(await readFile(join(upper, "etc", "hostname"), "utf8")).toBe("link\n");
      expect(await readFile(join(upper, "dotdot-file"), "utf8")).toBe("dotdot\n");
      expect((await lstat(join(upper, "etc", "remove-me"))).isCharacterDevice()).toBe(true); // a whiteout
    }

    expect(await client.call("StopPodSandbox", { podSandboxId, timeoutMs: 2_000 })).toMatchObject({ result: {} });
    expect(await client.call("RemovePodSandbox", { podSandboxId })).toMatchObject({ result: {} });
    expect(await fingerprintTree(outside)).toEqual(fingerprints.before);
    expect(await readFile("/etc/hostname", "utf8").catch(() => undefined)).toBe(hostname);
    const mounts = await readMountinfo();
    expect(mounts.filter((mount) => isInside(outside, mount.mountPoint) || isInside(daemon.root, mount.mountPoint) || mount.superOptions.includes(outside))).toEqual([]);
    // No mount of the host's own appeared or went away.
    expect(await stableMountPoints()).toEqual(mountsBefore);
    expect((await client.call("Version")).result).toMatchObject({ runtime });
  });

  test("a rootfs or cwd that is relative, too long, has a NUL, is no directory, or would inject overlay options is INVALID_ARGUMENT, and nothing is made", async () => {
    const { result: run } = await client.call("RunPodSandbox", { config: { name: "escape-invalid" } });
    const podSandboxId = run.podSandboxId as string;
    const cases: Record<string, unknown>[] = [
      { rootfs: "../../etc" },
      { rootfs: "etc" },
      { rootfs: "" },
      { rootfs: "/etc\u0000/x" },
      { rootfs: `${image}\u0000` },
      { rootfs: `/${"a".repeat(5_000)}` },
      { rootfs: `/${"a".repeat(4_000)}` },
      { rootfs: join(image, "etc", "file") },
      { rootfs: join(outside, "links", "dangling") },
      { rootfs: join(outside, "links", "odd") },
      { rootfs: join(outside, "odd,upperdir=x") },
      { rootfs: `${image},upperdir=${victim}` },
      { rootfs: `${image}:${victim}` },
      { rootfs: image, cwd: "etc" },
      { rootfs: image, cwd: "../../etc" },
      { rootfs: image, cwd: "/etc\u0000" },
      { cwd: `/${"a".repeat(5_000)}` },
    ];
    for (const extra of cases) {
      const answer = await client.call("CreateContainer", { podSandboxId, config: { name: "bad-path", command: ["/bin/sh", "-c", "echo x > /etc/file"], ...extra } });
      expect(answer.error?.data, JSON.stringify(extra).slice(0, 200)).toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    const { result: containers } = await client.call("ListContainers", { filter: { podSandboxId } });
    expect(containers.items.map((item: { infra: boolean }) => item.infra)).toEqual([true]);
    expect((await readMountinfo()).filter((mount) => isInside(daemon.root, mount.mountPoint) && mount.fsType === "overlay")).toEqual([]);
    expect(await client.call("RemovePodSandbox", { podSandboxId })).toMatchObject({ result: {} });
    expect(await fingerprintTree(outside)).toEqual(fingerprints.before);
  });

  test("a cwd that does not exist fails the start with FAILED_PRECONDITION (it was INTERNAL), and the container stays created", async () => {
    const { result: run } = await client.call("RunPodSandbox", { config: { name: "missing-cwd" } });
    const podSandboxId = run.podSandboxId as string;
    for (const config of [{ cwd: join(outside, "nowhere") }, { cwd: "/nowhere/../../nowhere", rootfs: image }]) {
      const { result } = await client.call("CreateContainer", { podSandboxId, config: { name: "lost", command: ["/bin/sh", "-c", "echo x > /etc/file"], ...config } });
      const started = await client.call("StartContainer", { containerId: result.containerId });
      expect(started.error?.data).toMatchObject({ code: "FAILED_PRECONDITION", reason: "START_FAILED" });
      expect((await client.call("ContainerStatus", { containerId: result.containerId })).result.status.state).toBe("created");
      expect(await client.call("RemoveContainer", { containerId: result.containerId })).toMatchObject({ result: {} });
    }
    expect(await client.call("RemovePodSandbox", { podSandboxId })).toMatchObject({ result: {} });
    expect(await fingerprintTree(outside)).toEqual(fingerprints.before);
  });

  test("names are never paths: '/', '..' and '../../etc' are just names; NUL and 10,000 characters are refused", async () => {
    for (const name of ["x\u0000y", "n".repeat(10_000), "", " \n "]) {
      expect((await client.call("RunPodSandbox", { config: { name } })).error?.data).toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    const { result: run } = await client.call("RunPodSandbox", { config: { name: "../../../../etc", labels: { "../../x": "/etc/passwd" } } });
    const podSandboxId = run.podSandboxId as string;
    for (const name of ["/", "..", "../../../../tmp/escaped", "x\u0000y", "n".repeat(10_000)]) {
      const answer = await client.call("CreateContainer", { podSandboxId, config: { name, command: ["true"] } });
      if (name.includes("\u0000") || name.length > 253) {
        expect(answer.error?.data).toMatchObject({ code: "INVALID_ARGUMENT" });
        continue;
      }
      const { status } = (await client.call("ContainerStatus", { containerId: answer.result.containerId })).result;
      expect(status.name).toBe(name);
      expect(isInside(daemon.root, status.logPath)).toBe(true);
      expect(status.logPath).not.toContain("..");
      expect(status.cgroupPath).not.toContain("..");
    }
    const { status } = (await client.call("PodSandboxStatus", { podSandboxId })).result;
    for (const path of [status.shmPath, status.netnsPath, status.cgroupPath]) expect(path ?? "").not.toContain("..");
    expect(isInside(daemon.root, status.shmPath)).toBe(true);
    await expect(lstat("/tmp/escaped")).rejects.toMatchObject({ code: "ENOENT" });
    expect(await client.call("RemovePodSandbox", { podSandboxId })).toMatchObject({ result: {} });
    expect((await client.call("ListPodSandbox")).result.items).toEqual([]);
  });
});

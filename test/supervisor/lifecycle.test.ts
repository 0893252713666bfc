import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isMounted } from "../../src/host/mountinfo.ts";
import { noLeftovers, startTestSupervisor, zombieChildren } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";

describe("the lifecycle of sandboxes and containers", () => {
  let t: TestSupervisor;
  let image: string;
  beforeAll(async () => {
    t = await startTestSupervisor();
    // A tiny "image": one file, no binaries; the rootfs tests check the overlay from outside.
    image = await mkdtemp(join(tmpdir(), "pvtest-image-"));
    await writeFile(join(image, "hello.txt"), "from the image\n");
  });
  afterAll(async () => {
    expect(await t.close()).toEqual(noLeftovers);
    expect(await zombieChildren()).toEqual([]);
    await rm(image, { recursive: true, force: true });
  });

  test("status and list report state, pid, exit code, reason and times", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "web", labels: { app: "web" } });
    const containerId = await t.supervisor.createContainer(id, { name: "main", command: ["sleep", "1000"], env: { A: "1" } });
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "created", podSandboxId: id, name: "main" });
    await t.supervisor.startContainer(containerId);
    const running = t.supervisor.containerStatus(containerId);
    expect(running).toMatchObject({ state: "running" });
    expect(running.pid).toBeGreaterThan(0);
    expect(running.startedAt).toBeGreaterThanOrEqual(running.createdAt);
    expect(t.supervisor.listPodSandbox({ state: "ready" }).map((s) => s.id)).toContain(id);
    expect(t.supervisor.listContainers({ podSandboxId: id }).map((c) => c.name).sort()).toEqual(["infra", "main"]);
    await t.supervisor.stopContainer(containerId, { timeoutMs: 2_000 });
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", signal: "SIGTERM", reason: "signalled" });
    expect(t.supervisor.listContainers({ state: "exited" }).map((c) => c.id)).toContain(containerId);
    await t.supervisor.removeContainer(containerId);
    await t.supervisor.removeContainer(containerId); // removing twice is fine
    expect(() => t.supervisor.containerStatus(containerId)).toThrow(/Cannot find container/);
    await t.supervisor.removePodSandbox(id);
    await t.supervisor.removePodSandbox(id);
    expect(t.supervisor.listPodSandbox().map((s) => s.id)).not.toContain(id);
  });

  test("a container's output lands in its log file under the root", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "logs" });
    const containerId = await t.supervisor.createContainer(id, { name: "echo", command: ["sh", "-c", "echo out; echo err >&2"] });
    await t.supervisor.startContainer(containerId);
    await expect.poll(() => t.supervisor.containerStatus(containerId).state).toBe("exited");
    const log = await readFile(join(t.root, "sandboxes", id, "containers", containerId, "container.log"), "utf8");
    expect(log).toContain("out");
    expect(log).toContain("err");
    await t.supervisor.removePodSandbox(id);
  });

  test("a container joins its sandbox's network namespace", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "net" });
    const containerId = await t.supervisor.createContainer(id, { name: "ns", command: ["sh", "-c", "readlink /proc/self/ns/net"] });
    await t.supervisor.startContainer(containerId);
    await expect.poll(() => t.supervisor.containerStatus(containerId).state).toBe("exited");
    const inside = (await readFile(join(t.root, "sandboxes", id, "containers", containerId, "container.log"), "utf8")).trim();
    const { readlink } = await import("node:fs/promises");
    expect(inside).not.toBe(await readlink("/proc/self/ns/net"));
    expect(inside).toMatch(/^net:\[\d+\]$/);
    await t.supervisor.removePodSandbox(id);
  });

  test("an overlay rootfs is mounted per container, written in its upper layer, and unmounted at stop", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "rootfs" });
    // The image holds no binaries, so the command runs from the host; the overlay is checked from outside.
    const containerId = await t.supervisor.createContainer(id, { name: "img", command: ["sleep", "1000"], rootfs: image });
    const merged = join(t.root, "sandboxes", id, "containers", containerId, "merged");
    expect(await isMounted(merged)).toBe(true);
    expect(await readFile(join(merged, "hello.txt"), "utf8")).toBe("from the image\n");
    await writeFile(join(merged, "new.txt"), "written\n");
    expect(existsSync(join(image, "new.txt"))).toBe(false);
    await t.supervisor.stopPodSandbox(id);
    expect(await isMounted(merged)).toBe(false);
    await t.supervisor.removePodSandbox(id);
  });

  test("a container with a rootfs runs inside it, and its writes stay in its upper layer", async () => {
    const { execa } = await import("execa");
    // Make the image runnable: the host's /bin/sh (dash) and the libraries it links.
    const { stdout } = await execa("ldd", ["/bin/sh"]);
    const files = ["/bin/sh", ...stdout.split("\n").map((line) => line.match(/(\/\S+) \(0x/)?.[1]).filter((path) => path !== undefined)];
    await execa("cp", ["--parents", "-L", ...files, image]);
    const id = await t.supervisor.runPodSandbox({ name: "chroot" });
    const containerId = await t.supervisor.createContainer(id, {
      name: "sh",
      command: ["/bin/sh", "-c", "read line < /hello.txt; echo \"inside: $line\"; echo made > /made.txt"],
      rootfs: image,
    });
    await t.supervisor.startContainer(containerId);
    await expect.poll(() => t.supervisor.containerStatus(containerId).state).toBe("exited");
    const dir = join(t.root, "sandboxes", id, "containers", containerId);
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ exitCode: 0, reason: "exited" });
    expect(await readFile(join(dir, "container.log"), "utf8")).toContain("inside: from the image");
    expect(await readFile(join(dir, "upper", "made.txt"), "utf8")).toBe("made\n");
    expect(existsSync(join(image, "made.txt"))).toBe(false);
    await t.supervisor.removePodSandbox(id);
  });

  test("a rootfs mount point swapped for a symlink out of the root is not unmounted: a warning for the stop (as in the reference), and the removal fails until it is fixed", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "escape" });
    const containerId = await t.supervisor.createContainer(id, { name: "img", command: ["sleep", "1000"], rootfs: image });
    const dir = join(t.root, "sandboxes", id, "containers", containerId);
    const outside = await mkdtemp(join(tmpdir(), "pvtest-outside-"));
    const { execa } = await import("execa");
    await execa("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", outside]);
    try {
      // -R: the pod's resolv.conf is bound beneath it.
      await execa("umount", ["-R", join(dir, "merged")]);
      await rm(join(dir, "merged"), { recursive: true });
      await symlink(outside, join(dir, "merged"));
      const outcome = await t.supervisor.stopPodSandbox(id);
      expect(outcome.warnings).toEqual([expect.stringMatching(/^storage-unmount: 1 rootfs could not be unmounted: .*outside/)]);
      expect(await isMounted(outside)).toBe(true);
      expect(t.supervisor.podSandboxStatus(id).state).toBe("stopped");
      await expect(t.supervisor.removePodSandbox(id)).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
      expect(await isMounted(outside)).toBe(true);
    } finally {
      await execa("umount", [outside], { reject: false });
      await rm(outside, { recursive: true, force: true });
    }
    await rm(join(dir, "merged"));
    await t.supervisor.removePodSandbox(id);
  });

  test("create refuses bad configs with clear errors", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "bad" });
    // One validator for every way in (the API's schemas): a config of the wrong shape is a TypeError.
    await expect(t.supervisor.createContainer(id, { name: "x", command: [] })).rejects.toThrow(/Cannot create container: command: .*>=1/);
    await expect(t.supervisor.createContainer(id, { name: "x", command: "ls" })).rejects.toThrow(TypeError);
    await expect(t.supervisor.createContainer(id, { name: "x", command: ["true"], stopSignal: "SIGNOPE" })).rejects.toThrow(/not a signal name/);
    // Said, never ignored: an init has no PID 1 to serve on the process backend; bind mounts need a root to go under.
    await expect(t.supervisor.createContainer(id, { name: "x", command: ["true"], init: true })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/init is for the OCI backends/) });
    await expect(t.supervisor.createContainer(id, { name: "x", command: ["true"], mounts: [{ containerPath: "/data", hostPath: "/tmp", readonly: true }] })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/bind mounts need a container root/) });
    await expect(t.supervisor.createContainer(id, { name: "x", command: ["true"], rootfs: "/nonexistent-dir" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(t.supervisor.createContainer("nosuchsandbox", { name: "x", command: ["true"] })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(t.supervisor.runPodSandbox({ name: "" })).rejects.toThrow(TypeError);
    await expect(t.supervisor.runPodSandbox({ name: "x", hostNetwork: "yes" })).rejects.toThrow(/hostNetwork/);
    expect(t.supervisor.listContainers({ podSandboxId: id })).toHaveLength(1); // only the infra container
    await t.supervisor.removePodSandbox(id);
  });

  test("a replaced worker thread loses no sandbox, no exit code, and leaves no zombie", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "recycled" });
    const exiting = await t.supervisor.createContainer(id, { name: "exits", command: ["sleep", "1000"] });
    const sleeping = await t.supervisor.createContainer(id, { name: "sleeps", command: ["sleep", "1000"] });
    await t.supervisor.startContainer(exiting);
    await t.supervisor.startContainer(sleeping);
    t.supervisor.recycleWorker(t.supervisor.workerOf(id) as number);
    await expect.poll(() => t.supervisor.workerOf(id), { timeout: 10_000 }).toBeDefined();
    // The container exits while its actor is being rebuilt: its exit code must still be recorded.
    const pid = t.supervisor.containerStatus(exiting).pid as number;
    process.kill(pid, "SIGTERM");
    await expect.poll(() => t.supervisor.containerStatus(exiting).state, { timeout: 10_000 }).toBe("exited");
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 2_000 });
    expect(t.supervisor.containerStatus(sleeping)).toMatchObject({ state: "exited", signal: "SIGTERM" });
    expect(t.supervisor.containerStatus(exiting)).toMatchObject({ state: "exited", signal: "SIGTERM", reason: "signalled" });
    expect(await zombieChildren()).toEqual([]);
    await t.supervisor.removePodSandbox(id);
  });
});

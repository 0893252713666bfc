import { access, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { addTestLayer, buildTestImage, pushImage, startRegistry } from "../support/registry.ts";
import type { TestRegistry } from "../support/registry.ts";
import { noLeftovers, startTestSupervisor } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";

let dir: string;
let registry: TestRegistry;
let t: TestSupervisor;
let reference: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-image-ctr-"));
  // Entrypoint `sh -c`, a default cmd, env and a working directory; a second layer deletes /etc/motd.
  const layout = await buildTestImage(dir, {
    extraFiles: { "etc/motd": "motd of layer one\n", "srv/data.txt": "data\n" },
    configArgs: ["--config.entrypoint", "sh", "--config.entrypoint", "-c", "--config.cmd", "echo default cmd in $PWD; cat data.txt", "--config.env", "PATH=/bin", "--config.env", "GREETING=hi", "--config.workingdir", "/srv"],
  });
  await addTestLayer(layout, dir, { remove: ["etc/motd"], files: { "etc/issue": "layer two\n" } });
  registry = await startRegistry();
  await pushImage(layout, registry, "test/app:latest");
  reference = `${registry.address}/test/app:latest`;
  t = await startTestSupervisor();
  await t.supervisor.pullImage({ image: { image: reference } });
}, 120_000);

afterAll(async () => {
  const leftovers = await t?.close();
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
  expect(leftovers ?? noLeftovers).toEqual(noLeftovers);
});

async function run(sandboxId: string, config: object): Promise<{ id: string; log: string }> {
  const id = await t.supervisor.createContainer(sandboxId, { name: `c${Math.random().toString(36).slice(2, 8)}`, image: reference, ...config });
  await t.supervisor.startContainer(id);
  await expect.poll(() => t.supervisor.containerStatus(id).state, { timeout: 30_000 }).toBe("exited");
  const log = await readFile(join(t.root, "sandboxes", sandboxId, "containers", id, "container.log"), "utf8");
  return { id, log };
}

describe("containers from an image", () => {
  test("the image's entrypoint, cmd, env and working directory apply by CRI's rules; its layers are the root", async () => {
    const sandboxId = await t.supervisor.runPodSandbox({ name: "images" });
    const defaults = await run(sandboxId, {});
    expect(defaults.log).toContain("default cmd in /srv");
    expect(defaults.log).toContain("data");
    expect(t.supervisor.containerStatus(defaults.id)).toMatchObject({ exitCode: 0 });
    // args replace the cmd, the entrypoint stays; env adds to the image's.
    const args = await run(sandboxId, { args: ["echo args $GREETING $EXTRA in $PWD"], env: { EXTRA: "x" }, cwd: "/etc" });
    expect(args.log).toContain("args hi x in /etc");
    // command replaces the entrypoint, and the image's cmd is dropped.
    const command = await run(sandboxId, { command: ["echo", "command only"] });
    expect(command.log).toContain("command only");
    expect(command.log).not.toContain("default cmd");
    // The second layer's whiteout hides /etc/motd of the first; its own file is there.
    const whiteout = await run(sandboxId, { command: ["sh", "-c", "cat /etc/issue; ls /etc; test -e /etc/motd && echo motd-visible || echo motd-hidden"] });
    expect(whiteout.log).toContain("layer two");
    expect(whiteout.log).toContain("motd-hidden");
    // The leak check finds nothing to take: the store has no mounts, the overlays are the containers' own.
    const report = await t.supervisor.checkHost({ repair: true });
    expect(report.leaks).toBe(0);
    expect(report.kinds.mounts.owned.length).toBeGreaterThanOrEqual(4);
    await t.supervisor.removePodSandbox(sandboxId);
  });

  test("RemoveImage is refused while a container uses the image, and removes its layers after", async () => {
    const sandboxId = await t.supervisor.runPodSandbox({ name: "inuse" });
    const { id } = await run(sandboxId, { command: ["true"] });
    await expect(t.supervisor.removeImage({ image: { image: reference } })).rejects.toMatchObject({ code: "FAILED_PRECONDITION", message: expect.stringContaining(`container ${id} uses it`) });
    const { image } = await t.supervisor.imageStatus({ image: { image: reference } });
    expect(image).not.toBeNull();
    await t.supervisor.removePodSandbox(sandboxId);
    await t.supervisor.removeImage({ image: { image: reference } });
    expect(await t.supervisor.imageStatus({ image: { image: reference } })).toEqual({ image: null });
    expect(await readdir(join(t.root, "images", "layers"))).toEqual([]);
    await t.supervisor.pullImage({ image: { image: reference } });
  });

  test("an image not in the store, or no command without an image, is refused", async () => {
    const sandboxId = await t.supervisor.runPodSandbox({ name: "refused" });
    await expect(t.supervisor.createContainer(sandboxId, { name: "a", image: `${registry.address}/test/none:latest` })).rejects.toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining("pull it first") });
    await expect(t.supervisor.createContainer(sandboxId, { name: "b" })).rejects.toThrow(/command: is required without an image/);
    expect(t.supervisor.listContainers({ podSandboxId: sandboxId }).filter((c) => !c.infra)).toEqual([]);
    await t.supervisor.removePodSandbox(sandboxId);
    await expect(access(join(t.root, "images", "index.json"))).resolves.toBeUndefined();
  });
});

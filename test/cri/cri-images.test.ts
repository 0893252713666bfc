/**
 * ImageService through the CRI endpoint of a real daemon, and a container from a pulled image:
 * a registry on 127.0.0.1 (Debian's docker-registry) serving a busybox image made with umoci.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { buildTestImage, pushImage, startRegistry } from "../support/registry.ts";
import type { TestRegistry } from "../support/registry.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { connectCri, failure } from "./cri-client.ts";
import type { CriClient } from "./cri-client.ts";
import { podConfig } from "./cri-fixtures.ts";

describe("the CRI's ImageService, and containers from images", () => {
  let dir: string;
  let registry: TestRegistry;
  let daemon: DaemonProcess;
  let cri: CriClient;
  let reference: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-cri-images-"));
    const layout = await buildTestImage(dir, { configArgs: ["--config.entrypoint", "sh", "--config.entrypoint", "-c", "--config.cmd", "echo from the image; exec sleep 1000", "--config.env", "PATH=/bin", "--config.env", "GREETING=hi", "--config.workingdir", "/"] });
    registry = await startRegistry();
    await pushImage(layout, registry, "test/busybox:latest");
    reference = `${registry.address}/test/busybox:latest`;
    daemon = await startDaemonProcess("node");
    cri = connectCri(daemon.criSocket);
  }, 120_000);
  afterAll(async () => {
    cri?.close();
    const leftovers = await daemon?.stop();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
    expect(leftovers ?? noLeftovers).toEqual(noLeftovers);
  });

  test("pull, list, status; a container from the image runs its entrypoint with the request's args; remove is refused while it is used, then idempotent", async () => {
    expect((await cri.image("ImageStatus", { image: { image: reference } })).image).toBeNull();
    const { image_ref: imageRef } = await cri.image("PullImage", { image: { image: reference } });
    expect(imageRef).toMatch(/^sha256:[0-9a-f]{64}$/);
    const { images } = await cri.image("ListImages", {});
    expect(images).toContainEqual(expect.objectContaining({ id: imageRef, repo_tags: [reference] }));
    const { image } = await cri.image("ImageStatus", { image: { image: reference } });
    expect(image).toMatchObject({ id: imageRef, repo_tags: [reference] });
    expect(Number(image.size)).toBeGreaterThan(0);

    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("from-image", { log_directory: join(dir, "logs") }) });
    const config = { metadata: { name: "app" }, image: { image: reference }, args: ["echo args with $GREETING; exec sleep 1000"], log_path: "app.log", linux: { security_context: { privileged: true } } };
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config });
    await cri.runtime("StartContainer", { container_id: id });
    expect((await cri.runtime("ContainerStatus", { container_id: id })).status).toMatchObject({ state: "CONTAINER_RUNNING", image: { image: reference }, image_ref: imageRef });
    await expect.poll(() => readFile(join(dir, "logs", "app.log"), "utf8").catch(() => ""), { timeout: 10_000 }).toContain("stdout F args with hi\n");
    const exec = await cri.runtime("ExecSync", { container_id: id, cmd: ["sh", "-c", "echo $GREETING; ls /bin/busybox"], timeout: 10 });
    expect(exec).toMatchObject({ exit_code: 0 });
    expect(exec.stdout.toString()).toBe("hi\n/bin/busybox\n");
    expect(await failure(cri.image("RemoveImage", { image: { image: reference } }))).toMatchObject({ code: "FAILED_PRECONDITION" });
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
    await cri.image("RemoveImage", { image: { image: reference } });
    await cri.image("RemoveImage", { image: { image: reference } });
    expect((await cri.image("ImageStatus", { image: { image: reference } })).image).toBeNull();
    expect(await failure(cri.image("PullImage", { image: { image: "" } }))).toMatchObject({ code: "INVALID_ARGUMENT", details: "Cannot pull image: image.image is empty" });
  });

  test("ImageFsInfo from the image store", async () => {
    const { image_filesystems: [usage] } = await cri.image("ImageFsInfo", {});
    expect(usage.fs_id.mountpoint).not.toBe("");
    expect(Number(usage.timestamp)).toBeGreaterThan(0);
  });
});

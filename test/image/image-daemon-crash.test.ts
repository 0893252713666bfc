import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import { buildTestImage, pushImage, startRegistry } from "../support/registry.ts";
import type { TestRegistry } from "../support/registry.ts";
import { startStallingProxy } from "../support/stalling-proxy.ts";

const runtime = "Deno" in globalThis ? "deno" : "node";
let dir: string;
let registry: TestRegistry;
let layerDigest: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-image-crash-"));
  const layout = await buildTestImage(dir);
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(await readFile(join(layout, "blobs", "sha256", (index.manifests[0]?.digest ?? "").slice(7)), "utf8")) as { layers: { digest: string }[] };
  layerDigest = manifest.layers[0]?.digest ?? "";
  registry = await startRegistry();
  await pushImage(layout, registry, "test/busybox:latest");
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

test("a daemon killed with SIGKILL in the middle of a pull: the restarted daemon has no image and no blob of it, and pulls it whole", async () => {
  const proxy = await startStallingProxy(registry.address, layerDigest);
  const daemon = await startDaemonProcess(runtime);
  let restarted: Awaited<ReturnType<typeof startDaemonProcess>> | undefined;
  try {
    const client = await RawClient.connect(daemon.socket);
    const reference = `${proxy.address}/test/busybox:latest`;
    void client.call("PullImage", { image: { image: reference } }).catch(() => {});
    await proxy.stalled;
    await expect.poll(async () => (await readdir(join(daemon.root, "images", "ingest"))).length, { timeout: 30_000 }).toBe(1);
    await daemon.crash();
    client.socket.destroy();

    restarted = await startDaemonProcess(runtime, [], { root: daemon.root });
    const again = await RawClient.connect(restarted.socket);
    try {
      expect((await again.call("ListImages", {})).result).toEqual({ images: [] });
      expect((await again.call("ImageStatus", { image: { image: reference } })).result).toEqual({ image: null });
      const images = join(daemon.root, "images");
      expect([...await readdir(join(images, "blobs", "sha256")), ...await readdir(join(images, "layers")), ...await readdir(join(images, "ingest"))]).toEqual([]);
      // The same image, straight from the registry this time, is stored whole.
      const pulled = await again.call("PullImage", { image: { image: `${registry.address}/test/busybox:latest` } });
      expect(pulled.result?.imageRef).toMatch(/^sha256:/);
    } finally {
      again.socket.destroy();
    }
  } finally {
    await proxy.close();
    if (restarted !== undefined) expect((await restarted.stop()).mounts).toEqual([]);
    else {
      await daemon.crash().catch(() => {});
      await rm(daemon.root, { recursive: true, force: true });
    }
  }
});

import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { ImageStore } from "../../src/image/image-store.ts";
import { buildTestImage, pushImage, startRegistry } from "../support/registry.ts";
import type { TestRegistry } from "../support/registry.ts";
import { startStallingProxy } from "../support/stalling-proxy.ts";
import { commandFor } from "../support/runtimes.ts";

let workDir: string;
let registry: TestRegistry;
let layout: string;
let manifestDigest: string;
let layerDigest: string;
let configDigest: string;
const roots: string[] = [];

async function readLayout(dir: string): Promise<{ manifest: string; layer: string; config: string }> {
  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: { digest: string }[] };
  const manifest = (index.manifests[0] as { digest: string }).digest;
  const doc = JSON.parse(await readFile(join(dir, "blobs", "sha256", manifest.slice(7)), "utf8")) as { config: { digest: string }; layers: { digest: string }[] };
  return { manifest, layer: (doc.layers[0] as { digest: string }).digest, config: doc.config.digest };
}

async function freshStore(): Promise<ImageStore> {
  const root = await mkdtemp(join(tmpdir(), "pvtest-images-"));
  roots.push(root);
  return ImageStore.open({ root });
}

/** Everything under the store except its fixed skeleton: what "nothing stored" means. */
async function storedFiles(store: ImageStore): Promise<string[]> {
  const blobs = await readdir(join(store.dir, "blobs", "sha256"));
  const layers = await readdir(store.layersDir);
  const ingest = await readdir(join(store.dir, "ingest"));
  return [...blobs.map((name) => `blob ${name}`), ...layers.map((name) => `layer ${name}`), ...ingest.map((name) => `ingest ${name}`)];
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "pvtest-image-build-"));
  layout = await buildTestImage(workDir);
  ({ manifest: manifestDigest, layer: layerDigest, config: configDigest } = await readLayout(layout));
  registry = await startRegistry();
  await pushImage(layout, registry, "test/busybox:latest");
}, 120_000);

afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

afterAll(async () => {
  await registry?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe("ImageStore.pull()", () => {
  test("pulls an image by tag: its blobs verified, its layer unpacked, its config kept", async () => {
    const store = await freshStore();
    const progress: number[] = [];
    const image = await store.pull(`${registry.address}/test/busybox`, { onProgress: (p) => progress.push(p.doneBytes / p.totalBytes) });
    expect(image.id).toBe(configDigest);
    expect(image.repoTags).toEqual([`${registry.address}/test/busybox:latest`]);
    expect(image.repoDigests).toEqual([`${registry.address}/test/busybox@${manifestDigest}`]);
    expect(image.config.config?.Cmd).toEqual(["sh"]);
    expect(image.config.config?.Env).toEqual(["PATH=/bin"]);
    expect(progress.at(-1)).toBe(1);
    const [lower] = store.layerDirs(image);
    expect((await lstat(join(lower as string, "bin", "busybox"))).mode & 0o777).toBe(0o755);
    expect(await readlink(join(lower as string, "bin", "sh"))).toBe("busybox");
    for (const digest of [manifestDigest, layerDigest, configDigest]) expect(await store.blobs.verify(digest)).toBe(true);
    expect(store.list()).toHaveLength(1);
    expect(store.find("127.0.0.1:" + registry.address.split(":")[1] + "/test/busybox:latest")?.id).toBe(image.id);
    expect(store.find(image.id.slice(7, 19))?.id).toBe(image.id);
    // The index survives a reopen, as an OCI image layout.
    const reopened = await ImageStore.open({ root: join(store.dir, "..") });
    expect(reopened.list().map((one) => one.repoTags)).toEqual([image.repoTags]);
    expect(JSON.parse(await readFile(join(store.dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
  });

  test("pulls an image by digest: no tag, the digest as its repo digest", async () => {
    const store = await freshStore();
    const image = await store.pull(`${registry.address}/test/busybox@${manifestDigest}`);
    expect(image.repoTags).toEqual([]);
    expect(image.repoDigests).toEqual([`${registry.address}/test/busybox@${manifestDigest}`]);
    expect(store.find(`${registry.address}/test/busybox@${manifestDigest}`)?.id).toBe(configDigest);
  });

  test("fails for a digest the registry does not have, and stores nothing", async () => {
    const store = await freshStore();
    await expect(store.pull(`${registry.address}/test/busybox@sha256:${"ab".repeat(32)}`)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(store.pull(`${registry.address}/test/nothing:latest`)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await storedFiles(store)).toEqual([]);
    expect(store.list()).toEqual([]);
  });

  test("refuses a malformed reference before any request", async () => {
    const store = await freshStore();
    for (const reference of ["", "library/UPPER", "Busybox", "busybox@sha256:123", "busybox:bad tag", "a//b", "host:99999/x", "busybox@md5:abc"]) {
      await expect(store.pull(reference), reference).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/^Cannot (parse image reference|use digest)/) });
    }
    expect(await storedFiles(store)).toEqual([]);
  });

  test("two concurrent pulls of one image fetch each blob once", async () => {
    await pushImage(layout, registry, "test/concurrent:latest");
    const before = registry.blobGets(layerDigest);
    const store = await freshStore();
    const [first, second] = await Promise.all([store.pull(`${registry.address}/test/concurrent`), store.pull(`${registry.address}/test/concurrent:latest`)]);
    expect(first.id).toBe(second.id);
    expect(registry.blobGets(layerDigest) - before).toBe(1);
    expect(store.list()).toHaveLength(1);
  });

  test("removes an image, its blobs and its layer; an unknown image is removed already", async () => {
    const store = await freshStore();
    const image = await store.pull(`${registry.address}/test/busybox:latest`);
    await store.remove(`${registry.address}/test/busybox:latest`);
    expect(store.list()).toEqual([]);
    expect(store.find(image.id)).toBeUndefined();
    expect(await storedFiles(store)).toEqual([]);
    await store.remove(`${registry.address}/test/busybox:latest`);
    await store.remove(image.id);
  });

  test("refuses to remove an image a container uses", async () => {
    const store = await freshStore();
    const image = await store.pull(`${registry.address}/test/busybox:latest`);
    store.inUse = (one) => (one.id === image.id ? "c0ffee" : undefined);
    await expect(store.remove(image.id)).rejects.toMatchObject({ code: "FAILED_PRECONDITION", message: expect.stringContaining("container c0ffee uses it") });
    expect(store.list()).toHaveLength(1);
  });

  test("collects garbage: blobs and layers no image references", async () => {
    const store = await freshStore();
    const image = await store.pull(`${registry.address}/test/busybox:latest`);
    const stray = Buffer.from("stray blob");
    const strayDigest = `sha256:${(await import("node:crypto")).createHash("sha256").update(stray).digest("hex")}`;
    await store.blobs.writeBytes(strayDigest, stray);
    await execa("mkdir", ["-p", join(store.layersDir, "f".repeat(64), "bin")]);
    expect(await store.garbageCollect()).toEqual({ blobs: 1, layers: 1 });
    expect(await store.blobs.has(strayDigest)).toBe(false);
    expect(await readdir(store.layersDir)).toEqual([image.layers[0]?.diffId.slice(7)]);
    expect(await store.blobs.has(image.id)).toBe(true);
  });

  test("a corrupted blob in the registry fails the pull, and nothing is stored", async () => {
    const corruptDir = await mkdtemp(join(tmpdir(), "pvtest-image-corrupt-"));
    try {
      const other = await buildTestImage(corruptDir, { extraFiles: { "etc/motd": "corrupt me" } });
      const { layer } = await readLayout(other);
      await pushImage(other, registry, "test/corrupt:latest");
      const data = join(registry.dataDir, "blobs", "sha256", layer.slice(7, 9), layer.slice(7), "data");
      const bytes = await readFile(data);
      bytes[bytes.length >> 1] ^= 0xff;
      await writeFile(data, bytes);
      const store = await freshStore();
      await expect(store.pull(`${registry.address}/test/corrupt:latest`)).rejects.toMatchObject({ code: "DATA_LOSS", message: expect.stringContaining(layer) });
      expect(await storedFiles(store)).toEqual([]);
      expect(store.list()).toEqual([]);
    } finally {
      await rm(corruptDir, { recursive: true, force: true });
    }
  });

  test("a pull that receives nothing for its progress timeout fails with DEADLINE_EXCEEDED, and nothing is stored", async () => {
    const proxy = await startStallingProxy(registry.address, layerDigest);
    const root = await mkdtemp(join(tmpdir(), "pvtest-images-"));
    roots.push(root);
    try {
      const store = await ImageStore.open({ root, pullProgressTimeoutMs: 1_000 });
      await expect(store.pull(`${proxy.address}/test/busybox:latest`)).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED", message: expect.stringContaining("no data from the registry") });
      expect(store.list()).toEqual([]);
      expect(await storedFiles(store)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  test("a pull killed with SIGKILL mid-blob leaves nothing that counts once the store is opened again", async () => {
    const proxy = await startStallingProxy(registry.address, layerDigest);
    const root = await mkdtemp(join(tmpdir(), "pvtest-images-"));
    roots.push(root);
    const [file, args] = commandFor("Deno" in globalThis ? "deno" : "node", new URL("./fixtures/pull-child.ts", import.meta.url).pathname, [root, `${proxy.address}/test/busybox:latest`]);
    const child = execa(file, args, { preferLocal: true, reject: false, stdin: "ignore" });
    try {
      await proxy.stalled;
      // The child is inside the layer's blob: its bytes so far sit in ingest/, not in blobs/.
      const ingest = join(root, "images", "ingest");
      await expect.poll(async () => (await readdir(ingest)).length, { timeout: 30_000 }).toBe(1);
      child.kill("SIGKILL");
      expect((await child).signal).toBe("SIGKILL");
    } finally {
      await proxy.close();
    }
    const store = await ImageStore.open({ root });
    expect(store.list()).toEqual([]);
    expect(await storedFiles(store)).toEqual([]);
  });
});

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ociArchitecture } from "../../src/image/image-manifest.ts";
import { ImageStore } from "../../src/image/image-store.ts";
import { buildTestImage, pushImage, startRegistry } from "../support/registry.ts";
import type { TestRegistry } from "../support/registry.ts";

let dir: string;
let registry: TestRegistry;

async function manifestOf(layout: string): Promise<{ digest: string; size: number; config: string }> {
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: { digest: string; size: number }[] };
  const entry = index.manifests[0] as { digest: string; size: number };
  const manifest = JSON.parse(await readFile(join(layout, "blobs", "sha256", entry.digest.slice(7)), "utf8")) as { config: { digest: string } };
  return { ...entry, config: manifest.config.digest };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-image-platform-"));
  registry = await startRegistry();
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("pulling an image index (manifest list)", () => {
  test("picks the manifest for linux/<this architecture>, and names the index's digest", async () => {
    const ours = await buildTestImage(join(dir, "ours"));
    const theirs = await buildTestImage(join(dir, "theirs"), { extraFiles: { "etc/arch": "other" } });
    await pushImage(ours, registry, "test/multi:ours");
    await pushImage(theirs, registry, "test/multi:theirs");
    const [oursManifest, theirsManifest] = [await manifestOf(ours), await manifestOf(theirs)];
    const other = ociArchitecture() === "amd64" ? "arm64" : "amd64";
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: theirsManifest.digest, size: theirsManifest.size, platform: { os: "linux", architecture: other } },
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: oursManifest.digest, size: oursManifest.size, platform: { os: "linux", architecture: ociArchitecture() } },
      ],
    });
    const put = await fetch(`http://${registry.address}/v2/test/multi/manifests/latest`, {
      method: "PUT",
      headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
      body: index,
    });
    expect(put.status).toBe(201);
    const indexDigest = put.headers.get("docker-content-digest");
    const root = await mkdtemp(join(tmpdir(), "pvtest-images-"));
    try {
      const store = await ImageStore.open({ root });
      const image = await store.pull(`${registry.address}/test/multi:latest`);
      expect(image.id).toBe(oursManifest.config);
      expect(image.manifestDigest).toBe(oursManifest.digest);
      expect(image.repoDigests).toEqual([`${registry.address}/test/multi@${indexDigest}`]);
      expect(store.find(`${registry.address}/test/multi@${indexDigest}`)?.id).toBe(image.id);
      expect(store.find(`${registry.address}/test/multi@${oursManifest.digest}`)?.id).toBe(image.id);
      expect(await store.blobs.has(theirsManifest.config)).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { create } from "tar";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadImages } from "../../src/image/image-load.ts";
import { ImageStore } from "../../src/image/image-store.ts";
import { buildTestImage } from "../support/registry.ts";

let dir: string;
let layout: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-image-load-"));
  layout = await buildTestImage(dir);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withStore(run: (store: ImageStore) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "pvtest-images-"));
  try {
    await run(await ImageStore.open({ root }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe("loadImages()", () => {
  test("loads an OCI layout directory; a bare tag takes the given name", async () => {
    await withStore(async (store) => {
      const [image] = await loadImages(store, layout, { name: "localhost/busybox" });
      expect(image?.repoTags).toEqual(["localhost/busybox:latest"]);
      expect(image?.config.config?.Cmd).toEqual(["sh"]);
      expect(store.find("localhost/busybox")?.id).toBe(image?.id);
      const unnamed = await loadImages(store, layout);
      expect(unnamed[0]?.id).toBe(image?.id);
      expect(store.list()).toHaveLength(1);
    });
  });

  test("loads an OCI archive (a tar of a layout), leaving nothing in ingest/", async () => {
    const archive = join(dir, "image.tar");
    await create({ file: archive, cwd: layout }, await readdir(layout));
    await withStore(async (store) => {
      const [image] = await loadImages(store, archive, { name: "localhost/archived" });
      expect(image?.repoTags).toEqual(["localhost/archived:latest"]);
      expect(await readdir(join(store.dir, "ingest"))).toEqual([]);
    });
  });

  test("loads an OCI archive written by skopeo, named by its own ref.name", async () => {
    const archive = join(dir, "skopeo.tar");
    await execa("skopeo", ["copy", "--quiet", `oci:${layout}:latest`, `oci-archive:${archive}:localhost/skopeo:v1`]);
    await withStore(async (store) => {
      const [image] = await loadImages(store, archive);
      expect(image?.repoTags).toEqual(["localhost/skopeo:v1"]);
    });
  });

  test("refuses what is not an OCI layout", async () => {
    const notTar = join(dir, "not.tar");
    await writeFile(notTar, "hello");
    await withStore(async (store) => {
      await expect(loadImages(store, join(dir, "missing"))).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(loadImages(store, notTar)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(loadImages(store, dir)).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("not an OCI image layout") });
      expect(store.list()).toEqual([]);
    });
  });
});

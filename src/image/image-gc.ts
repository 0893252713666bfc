/**
 * Garbage collection of the image store: every blob and unpacked layer that no image references and
 * no pull in flight has pinned is removed. Run at open, after a removal and after a failed pull.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { getLogger } from "../log/logger.ts";
import type { BlobStore } from "./blob-store.ts";
import type { ImageRecord } from "./image-index.ts";

const log = getLogger("image:gc");

export interface GarbageScope {
  blobs: BlobStore;
  layersDir: string;
  images: ImageRecord[];
  /** Digests (blobs) and `layer:<diffid>` keys that pulls in flight use. */
  pinned: string[];
}

/** Removes what nothing references; returns how many blobs and layers went. */
export async function collectGarbage(scope: GarbageScope): Promise<{ blobs: number; layers: number }> {
  const keep = new Set(scope.pinned);
  for (const image of scope.images) {
    keep.add(image.manifestDigest).add(image.id);
    for (const layer of image.layers) keep.add(layer.digest).add(`layer:${layer.diffId}`);
  }
  let blobs = 0;
  let layers = 0;
  for (const digest of await scope.blobs.list()) {
    if (keep.has(digest)) continue;
    await scope.blobs.remove(digest);
    blobs++;
  }
  for (const name of await readdir(scope.layersDir)) {
    // Only finished layers (named by their diff id); `.unpack-*` of a pull in flight is its own.
    if (!/^[0-9a-f]{64}$/.test(name) || keep.has(`layer:sha256:${name}`)) continue;
    await rm(join(scope.layersDir, name), { recursive: true, force: true });
    layers++;
  }
  if (blobs + layers > 0) log.info("Collected image garbage", { blobs, layers });
  return { blobs, layers };
}

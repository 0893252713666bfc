/**
 * The store's list of images: `<store>/index.json` of the OCI image layout, one manifest descriptor
 * per image, its names in annotations (`org.opencontainers.image.ref.name` for OCI tools, and
 * podvisor's `io.podvisor.repo-tags` / `io.podvisor.repo-digests`). Written atomically, and only
 * after every blob and layer of the image is in place: an image is in the store iff it is here.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../state/atomic-file.ts";
import type { BlobStore } from "./blob-store.ts";
import { parseConfig, parseManifest } from "./image-manifest.ts";
import type { ImageConfigFile } from "./image-manifest.ts";
import { getLogger } from "../log/logger.ts";

const log = getLogger("image:index");

/** An image in the store, as loaded from its index entry, manifest and config. */
export interface ImageRecord {
  /** The config's digest: the image id, as Docker, containerd and CRI-O name it. */
  id: string;
  manifestDigest: string;
  manifestMediaType: string;
  manifestSize: number;
  repoTags: string[];
  repoDigests: string[];
  /** Compressed size: the manifest's layers and config. */
  size: number;
  layers: { digest: string; size: number; mediaType?: string; diffId: string }[];
  config: ImageConfigFile;
}

const tagsKey = "io.podvisor.repo-tags";
const digestsKey = "io.podvisor.repo-digests";
const refNameKey = "org.opencontainers.image.ref.name";

/** Writes the `oci-layout` marker if missing. */
export async function writeLayoutMarker(storeDir: string): Promise<void> {
  await writeFile(join(storeDir, "oci-layout"), `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`, { flag: "wx" }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
  });
}

/** Every image of `index.json`; an entry whose blobs are missing or bad is left out, with a warning. */
export async function loadImageIndex(storeDir: string, blobs: BlobStore): Promise<ImageRecord[]> {
  const text = await readFile(join(storeDir, "index.json"), "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (text === undefined) return [];
  const doc = JSON.parse(text) as { manifests?: { digest: string; mediaType: string; size: number; annotations?: Record<string, string> }[] };
  const images: ImageRecord[] = [];
  for (const entry of doc.manifests ?? []) {
    try {
      const manifest = parseManifest(await blobs.read(entry.digest));
      const config = parseConfig(await blobs.read(manifest.config.digest));
      images.push({
        id: manifest.config.digest,
        manifestDigest: entry.digest,
        manifestMediaType: entry.mediaType,
        manifestSize: entry.size,
        repoTags: JSON.parse(entry.annotations?.[tagsKey] ?? "[]") as string[],
        repoDigests: JSON.parse(entry.annotations?.[digestsKey] ?? "[]") as string[],
        size: imageSize(manifest),
        layers: manifest.layers.map((layer, index) => ({ digest: layer.digest, size: layer.size, mediaType: layer.mediaType, diffId: config.rootfs.diff_ids[index] ?? "" })),
        config,
      });
    } catch (error) {
      log.warn("Left an image out of the store: its blobs are missing or bad", { manifestDigest: entry.digest, error });
    }
  }
  return images;
}

/** Writes `index.json` for `images` (atomic, durable). */
export async function saveImageIndex(storeDir: string, images: ImageRecord[]): Promise<void> {
  await writeJsonAtomic(join(storeDir, "index.json"), {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: images.map((image) => ({
      mediaType: image.manifestMediaType,
      digest: image.manifestDigest,
      size: image.manifestSize,
      annotations: {
        ...(image.repoTags[0] === undefined ? {} : { [refNameKey]: image.repoTags[0] }),
        [tagsKey]: JSON.stringify(image.repoTags),
        [digestsKey]: JSON.stringify(image.repoDigests),
      },
    })),
  });
}

/** An image's size as CRI reports it: its compressed blobs. */
export function imageSize(manifest: { config: { size: number }; layers: { size: number }[] }): number {
  return manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
}

/**
 * Stores one image from a source: the top manifest (an index is resolved to linux/<this arch>), the
 * config, every layer blob (each verified), every layer unpacked, then the manifest; the caller
 * names the image in the index last. Two ingests of one blob or one layer share the work (the
 * store's `once`), and every digest in use is pinned so that garbage collection leaves it alone.
 */
import { CodedError } from "../errors/coded-error.ts";
import type { BlobStore } from "./blob-store.ts";
import { imageSize } from "./image-index.ts";
import type { ImageRecord } from "./image-index.ts";
import { isIndex, mediaTypes, parseConfig, parseIndex, parseManifest, selectPlatform } from "./image-manifest.ts";
import type { ImageSource, PullProgress } from "./image-source.ts";
import { unpackLayer } from "./layer-unpack.ts";

const progressIntervalMs = 100;

export interface IngestContext {
  blobs: BlobStore;
  layersDir: string;
  /** Runs `work` once per key at a time: a second caller awaits the first one's promise. */
  once(key: string, work: () => Promise<unknown>): Promise<unknown>;
  /** Keeps digests (blobs, and `layer:<diffid>`) from garbage collection until the returned release. */
  pin(keys: string[]): () => void;
}

export interface IngestOptions {
  /** The tag or digest to fetch. */
  target: string;
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
}

/**
 * An image's content stored; `topDigest` is what was asked for (an index's digest, if it was one).
 * Its digests stay pinned until the caller, having named the image in the index, calls `release`.
 */
export interface IngestResult {
  image: Omit<ImageRecord, "repoTags" | "repoDigests">;
  topDigest: string;
  release(): void;
}

/** Stores one image's content from `source` (see the file's comment). */
export async function ingestImage(context: IngestContext, source: ImageSource, options: IngestOptions): Promise<IngestResult> {
  const { signal } = options;
  const top = await source.manifest(options.target, signal);
  let fetched = top;
  if (isIndex(top.mediaType, top.data)) {
    const chosen = selectPlatform(parseIndex(top.data));
    fetched = await source.manifest(chosen.digest, signal);
  }
  const manifest = parseManifest(fetched.data);
  const releases = [context.pin([fetched.digest, manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)])];
  const release = () => releases.forEach((one) => one());
  try {
    const totalBytes = imageSize(manifest);
    const done = new Map<string, number>();
    // At most one report per interval (a chunk arrives every 16-64 KiB), and always the last one.
    let reportedAt = Number.NEGATIVE_INFINITY;
    const report = (digest: string, bytes: number) => {
      done.set(digest, bytes);
      const doneBytes = [...done.values()].reduce((sum, value) => sum + value, 0);
      const now = performance.now();
      if (doneBytes < totalBytes && now - reportedAt < progressIntervalMs) return;
      reportedAt = now;
      options.onProgress?.({ doneBytes, totalBytes });
    };
    const storeBlob = (digest: string, size: number) =>
      context.once(`blob:${digest}`, async () => {
        if (await context.blobs.has(digest)) return;
        const chunks = await source.blob(digest, signal);
        await context.blobs.write(digest, chunks, { size, signal, onBytes: (bytes) => report(digest, bytes) });
      }).then(() => report(digest, size));
    await storeBlob(manifest.config.digest, manifest.config.size);
    const config = parseConfig(await context.blobs.read(manifest.config.digest));
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new CodedError("INVALID_ARGUMENT", `Cannot store ${source.name}: its manifest has ${manifest.layers.length} layers, its config ${diffIds.length} diff ids`);
    }
    releases.push(context.pin(diffIds.map((diffId) => `layer:${diffId}`)));
    await Promise.all(manifest.layers.map(async (layer, index) => {
      await storeBlob(layer.digest, layer.size);
      const diffId = diffIds[index] as string;
      await context.once(`layer:${diffId}`, () => unpackLayer({ blobPath: context.blobs.path(layer.digest), diffId, layersDir: context.layersDir, signal }));
    }));
    await context.blobs.writeBytes(fetched.digest, fetched.data);
    const image = {
      id: manifest.config.digest,
      manifestDigest: fetched.digest,
      manifestMediaType: fetched.mediaType ?? manifest.mediaType ?? mediaTypes.ociManifest,
      manifestSize: fetched.data.byteLength,
      size: totalBytes,
      layers: manifest.layers.map((layer, index) => ({ digest: layer.digest, size: layer.size, mediaType: layer.mediaType, diffId: diffIds[index] as string })),
      config,
    };
    return { image, topDigest: top.digest, release };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * The image store under `<root>/images/`: an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/`), plus `layers/<diffid hex>/` (each layer unpacked once, the read-only lower
 * directories of overlays) and `ingest/` (blobs being written). docs/IMAGES.md describes it.
 * Index changes and garbage collection take turns (one lock); blobs and layers come in concurrently.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { CodedError } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";
import { BlobStore } from "./blob-store.ts";
import { digestHex } from "./digest.ts";
import { collectGarbage } from "./image-gc.ts";
import { findImage } from "./image-lookup.ts";
import { RefCounts } from "./ref-counts.ts";
import { loadImageIndex, saveImageIndex, writeLayoutMarker } from "./image-index.ts";
import type { ImageRecord } from "./image-index.ts";
import { ingestImage } from "./image-ingest.ts";
import type { IngestContext, IngestResult } from "./image-ingest.ts";
import { formatImageReference, parseImageReference } from "./image-reference.ts";
import type { ImageSource, PullProgress } from "./image-source.ts";
import { mirroredSource } from "./mirrored-source.ts";
import { storeUsage } from "./image-usage.ts";
import type { StoreUsage } from "./image-usage.ts";
import type { RegistryCredentials } from "./registry-auth.ts";
import { RegistryClient } from "./registry-client.ts";
import type { RegistryMirrors } from "./registry-mirrors.ts";
import { PullWatchdog } from "./pull-watchdog.ts";

const log = getLogger("image:store");

export interface ImageStoreOptions {
  /** The daemon's root; the store is `<root>/images`. */
  root: string;
  /** Registries reached over plain HTTP besides loopback (`--insecure-registry`). */
  insecureRegistries?: string[];
  /** Mirrors asked first for a registry's images (`--registry-mirror`; registry-mirrors.ts). */
  registryMirrors?: RegistryMirrors;
  /** How long a pull may receive nothing while a request is open (pull-watchdog.ts); default 5 min. */
  pullProgressTimeoutMs?: number;
}

const defaultPullProgressTimeoutMs = 300_000;

export interface PullOptions {
  auth?: RegistryCredentials;
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
}

export class ImageStore {
  readonly dir: string;
  readonly layersDir: string;
  readonly blobs: BlobStore;
  readonly #client: RegistryClient;
  readonly #mirrors: RegistryMirrors;
  readonly #pullProgressTimeoutMs: number;
  #images: ImageRecord[] = [];
  #lock: Promise<unknown> = Promise.resolve();
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #pins = new RefCounts();
  #inUse: (image: ImageRecord) => string | undefined = () => undefined;
  /** Images held by containers being created (before their records name them). */
  readonly #holds = new RefCounts();

  private constructor(options: ImageStoreOptions) {
    this.dir = join(options.root, "images");
    this.layersDir = join(this.dir, "layers");
    this.blobs = new BlobStore(this.dir);
    this.#client = new RegistryClient({ insecureRegistries: options.insecureRegistries });
    this.#mirrors = options.registryMirrors ?? new Map();
    this.#pullProgressTimeoutMs = options.pullProgressTimeoutMs ?? defaultPullProgressTimeoutMs;
  }

  /** Opens the store: what an interrupted pull left is removed, then what no image references. */
  static async open(options: ImageStoreOptions): Promise<ImageStore> {
    const store = new ImageStore(options);
    await mkdir(store.dir, { recursive: true, mode: 0o700 });
    await store.blobs.open();
    await mkdir(store.layersDir, { recursive: true, mode: 0o755 });
    for (const name of await readdir(store.layersDir)) {
      if (name.startsWith(".unpack-")) await rm(join(store.layersDir, name), { recursive: true, force: true });
    }
    await writeLayoutMarker(store.dir);
    store.#images = await loadImageIndex(store.dir, store.blobs);
    await store.garbageCollect();
    log.info("Image store ready", { dir: store.dir, images: store.#images.length });
    return store;
  }

  /** Who uses an image: returns a container id (then RemoveImage is refused), or undefined. */
  set inUse(check: (image: ImageRecord) => string | undefined) {
    this.#inUse = check;
  }

  /** Holds an image for a container being created: RemoveImage refuses it until the release. */
  hold(image: ImageRecord): () => void {
    return this.#holds.take([image.id]);
  }

  /** Pulls `text` from its registry; returns the image (its id is CRI's `imageRef`). */
  async pull(text: string, options: PullOptions = {}): Promise<ImageRecord> {
    const reference = parseImageReference(text);
    const started = Date.now();
    log.info("Pulling image", { reference: formatImageReference(reference) });
    const watchdog = new PullWatchdog(formatImageReference(reference), this.#pullProgressTimeoutMs);
    const signal = options.signal === undefined ? watchdog.signal : AbortSignal.any([options.signal, watchdog.signal]);
    const source = watchdog.watch(mirroredSource(this.#client, this.#mirrors.get(reference.registry.toLowerCase()) ?? [], reference, options.auth));
    let ingested: IngestResult;
    try {
      ingested = await this.#ingest(source, reference.digest ?? reference.tag ?? "latest", { ...options, signal });
    } finally {
      watchdog.stop();
    }
    const tags = reference.tag !== undefined && reference.digest === undefined ? [`${reference.name}:${reference.tag}`] : [];
    const image = await this.#commit(ingested, tags, [`${reference.name}@${ingested.topDigest}`]);
    log.info("Pulled image", { reference: formatImageReference(reference), id: image.id, durationMs: Date.now() - started });
    return image;
  }

  /** Stores an image from another source (an OCI layout: see image-load.ts) under `tags`. */
  async ingest(source: ImageSource, target: string, tags: string[], options: { signal?: AbortSignal } = {}): Promise<ImageRecord> {
    const ingested = await this.#ingest(source, target, options);
    return this.#commit(ingested, tags, []);
  }

  /** Ingests an image; a failure leaves nothing: what it stored (no image references it) is collected. */
  async #ingest(source: ImageSource, target: string, options: { signal?: AbortSignal; onProgress?: (progress: PullProgress) => void }): Promise<IngestResult> {
    try {
      return await ingestImage(this.#ingestContext(), source, { target, signal: options.signal, onProgress: options.onProgress });
    } catch (error) {
      await this.garbageCollect().catch((collectError: unknown) => log.warn("Cannot collect what a failed pull left", { error: collectError }));
      throw error;
    }
  }

  /** Every image; with `filter`, those `filter` names (see {@link find}). */
  list(filter?: string): ImageRecord[] {
    if (filter === undefined || filter === "") return [...this.#images];
    const image = this.find(filter);
    return image === undefined ? [] : [image];
  }

  /** The image `text` names (an id, a tag or a digest: image-lookup.ts); undefined if none. */
  find(text: string): ImageRecord | undefined {
    return findImage(this.#images, text);
  }

  /** Removes the image `text` names (every tag of it), then its unshared blobs and layers. Unknown: done. */
  async remove(text: string): Promise<void> {
    await this.#exclusive(async () => {
      const image = this.find(text);
      if (image === undefined) return;
      if (this.#holds.has(image.id)) throw new CodedError("FAILED_PRECONDITION", `Cannot remove image ${text}: a container being created uses it`, { details: { imageId: image.id } });
      const user = this.#inUse(image);
      if (user !== undefined) {
        throw new CodedError("FAILED_PRECONDITION", `Cannot remove image ${text}: container ${user} uses it`, { details: { imageId: image.id, containerId: user } });
      }
      const images = this.#images.filter((one) => one !== image);
      await saveImageIndex(this.dir, images);
      this.#images = images;
      log.info("Removed image", { id: image.id, repoTags: image.repoTags });
      await this.#collect();
    });
  }

  /** Removes every blob and unpacked layer that no image references and no pull in flight uses. */
  garbageCollect(): Promise<{ blobs: number; layers: number }> {
    return this.#exclusive(() => this.#collect());
  }

  /** The lower directories of an image's overlay, topmost layer first (overlay's `lowerdir` order). */
  layerDirs(image: ImageRecord): string[] {
    return image.layers.map((layer) => join(this.layersDir, digestHex(layer.diffId))).reverse();
  }

  /** What the store takes on disk (ImageFsInfo). */
  usage(): Promise<StoreUsage> {
    return storeUsage(this.dir);
  }

  #collect(): Promise<{ blobs: number; layers: number }> {
    return collectGarbage({ blobs: this.blobs, layersDir: this.layersDir, images: this.#images, pinned: this.#pins.keys() });
  }

  /** Names an ingested image in the index: its tags move here from any other image. */
  async #commit(ingested: IngestResult, tags: string[], digests: string[]): Promise<ImageRecord> {
    try {
      return await this.#exclusive(async () => {
        const existing = this.#images.find((image) => image.id === ingested.image.id && image.manifestDigest === ingested.image.manifestDigest);
        const others = this.#images
          .filter((image) => image !== existing)
          .map((image) => ({ ...image, repoTags: image.repoTags.filter((tag) => !tags.includes(tag)) }));
        const image: ImageRecord = {
          ...ingested.image,
          repoTags: [...new Set([...(existing?.repoTags ?? []), ...tags])],
          repoDigests: [...new Set([...(existing?.repoDigests ?? []), ...digests])],
        };
        // An image left with no name is kept (as Docker keeps a dangling image) until it is removed.
        const images = [...others, image];
        await saveImageIndex(this.dir, images);
        this.#images = images;
        return image;
      });
    } finally {
      ingested.release();
    }
  }

  #ingestContext(): IngestContext {
    return {
      blobs: this.blobs,
      layersDir: this.layersDir,
      once: (key, work) => {
        const running = this.#inFlight.get(key);
        if (running !== undefined) return running;
        const promise = work().finally(() => this.#inFlight.delete(key));
        this.#inFlight.set(key, promise);
        return promise;
      },
      pin: (keys) => this.#pins.take(keys),
    };
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#lock.then(work);
    this.#lock = result.catch(() => {});
    return result;
  }
}

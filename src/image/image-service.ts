/**
 * The CRI image verbs over the store, in CRI's shapes (`PullImage`, `ListImages`, `ImageStatus`,
 * `RemoveImage`, `ImageFsInfo`): what the supervisor's image methods delegate to, so the socket
 * API and the CRI endpoint map them one to one.
 */
import type { ImageFilesystemUsage, ImageView } from "../api/api-types.ts";
import type { ImageRecord } from "./image-index.ts";
import { loadImages } from "./image-load.ts";
import type { PullProgress } from "./image-source.ts";
import { ImageStore } from "./image-store.ts";
import type { ImageStoreOptions } from "./image-store.ts";
import type { RegistryCredentials } from "./registry-auth.ts";

export interface PullImageParams {
  image: { image: string };
  auth?: RegistryCredentials;
}

export class ImageService {
  readonly store: ImageStore;

  private constructor(store: ImageStore) {
    this.store = store;
  }

  static async open(options: ImageStoreOptions): Promise<ImageService> {
    return new ImageService(await ImageStore.open(options));
  }

  /** Pulls the image; `imageRef` is its id (the config's digest), as containerd and CRI-O answer. */
  async pullImage(params: PullImageParams, options: { onProgress?: (progress: PullProgress) => void; signal?: AbortSignal } = {}): Promise<{ imageRef: string }> {
    const image = await this.store.pull(params.image.image, { auth: params.auth, onProgress: options.onProgress, signal: options.signal });
    return { imageRef: image.id };
  }

  listImages(params: { filter?: { image?: { image: string } } } = {}): { images: ImageView[] } {
    return { images: this.store.list(params.filter?.image?.image).map(imageView) };
  }

  /** The image, or `null` when the store has none by that name (CRI's answer, not an error). */
  imageStatus(params: { image: { image: string } }): { image: ImageView | null } {
    const image = this.store.find(params.image.image);
    return { image: image === undefined ? null : imageView(image) };
  }

  async removeImage(params: { image: { image: string } }): Promise<void> {
    await this.store.remove(params.image.image);
  }

  async imageFsInfo(): Promise<{ imageFilesystems: ImageFilesystemUsage[] }> {
    const usage = await this.store.usage();
    return { imageFilesystems: [{ fsId: { mountpoint: usage.mountpoint }, usedBytes: usage.usedBytes, inodesUsed: usage.inodesUsed, timestamp: usage.timestamp }] };
  }

  /** Loads the images of an OCI layout or archive on the daemon's machine. */
  async loadImage(params: { path: string; name?: string }): Promise<{ images: ImageView[] }> {
    return { images: (await loadImages(this.store, params.path, { name: params.name })).map(imageView) };
  }
}

/** An image as the API shows it: CRI's `Image` (uid and username from the config's User). */
export function imageView(image: ImageRecord): ImageView {
  const user = image.config.config?.User ?? "";
  const name = user.split(":")[0] ?? "";
  const view: ImageView = { id: image.id, repoTags: image.repoTags, repoDigests: image.repoDigests, size: image.size };
  if (/^\d+$/.test(name)) view.uid = Number(name);
  else if (name !== "") view.username = name;
  return view;
}

/**
 * ImageService, answered from the image store's verbs on the daemon (`pullImage`, `listImages`,
 * `imageStatus`, `removeImage`, `imageFsInfo`: CRI-shaped params, see `src/api/pod-service.ts`)
 * when it has them; until then each says images are not there yet (UNIMPLEMENTED), except
 * ImageFsInfo, which then answers from the file system of the daemon's root (statfs).
 */
import { statfs } from "node:fs/promises";
import { CriError, isNotFound } from "./cri-errors.ts";
import { nanos, sub } from "./cri-message.ts";
import type { Message } from "./cri-message.ts";
import type { CriPodService, Handler } from "./cri-service.ts";

/** An image as the store shows it (`src/api/api-types.ts`'s ImageView). */
interface ImageView {
  id: string;
  repoTags?: string[];
  repoDigests?: string[];
  size?: number;
  uid?: number;
  username?: string;
}

interface ImageVerbs {
  pullImage(params: { image: { image: string }; auth?: object }): Promise<{ imageRef: string }>;
  listImages(params?: { filter?: { image?: { image: string } } }): Promise<{ images: ImageView[] }>;
  imageStatus(params: { image: { image: string } }): Promise<{ image: ImageView | null }>;
  removeImage(params: { image: { image: string } }): Promise<void>;
  imageFsInfo(): Promise<{ imageFilesystems: { fsId?: { mountpoint: string }; usedBytes: number; inodesUsed: number; timestamp: number }[] }>;
}

function verb<K extends keyof ImageVerbs>(service: CriPodService, name: K, call: string): ImageVerbs[K] {
  const method = (service as unknown as Partial<ImageVerbs>)[name];
  if (typeof method !== "function") throw new CriError("UNIMPLEMENTED", `Cannot ${call}: images are not implemented yet`);
  return method.bind(service) as ImageVerbs[K];
}

function imageSpec(request: Message, call: string): { image: string } {
  const image = String(sub(request, "image").image ?? "");
  if (image === "") throw new CriError("INVALID_ARGUMENT", `Cannot ${call}: image.image is empty`);
  return { image };
}

function image(view: ImageView): Message {
  return {
    id: view.id,
    repo_tags: view.repoTags ?? [],
    repo_digests: view.repoDigests ?? [],
    size: view.size ?? 0,
    ...(view.uid === undefined ? {} : { uid: { value: view.uid } }),
    username: view.username ?? "",
    spec: { image: view.id },
    pinned: false,
  };
}

const pullImage: Handler = async ({ service }, request) => {
  const pull = verb(service, "pullImage", "pull image");
  const auth = request.auth === null || request.auth === undefined ? {} : { auth: request.auth as object };
  const { imageRef } = await pull({ image: imageSpec(request, "pull image"), ...auth });
  return { image_ref: imageRef };
};

const listImages: Handler = async ({ service }, request) => {
  const list = verb(service, "listImages", "list images");
  const wanted = String(sub(sub(request, "filter"), "image").image ?? "");
  const { images } = await list(wanted === "" ? {} : { filter: { image: { image: wanted } } });
  return { images: images.map(image) };
};

/** An image that is not there is an empty answer, not an error (the CRI's rule). */
const imageStatus: Handler = async ({ service }, request) => {
  const status = verb(service, "imageStatus", "get image status");
  try {
    const { image: view } = await status({ image: imageSpec(request, "get image status") });
    return view === null ? { info: {} } : { image: image(view), info: request.verbose === true ? { info: JSON.stringify(view) } : {} };
  } catch (error) {
    if (isNotFound(error)) return { info: {} };
    throw error;
  }
};

/** Removing an image that is not there is success (the CRI's rule). */
const removeImage: Handler = async ({ service }, request) => {
  const remove = verb(service, "removeImage", "remove image");
  try {
    await remove({ image: imageSpec(request, "remove image") });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return {};
};

const imageFsInfo: Handler = async ({ service, root }) => {
  if (typeof (service as unknown as Partial<ImageVerbs>).imageFsInfo === "function") {
    const { imageFilesystems } = await verb(service, "imageFsInfo", "get image file system info")();
    const usages = imageFilesystems.map((usage) => ({
      timestamp: String(usage.timestamp),
      fs_id: usage.fsId ?? { mountpoint: root },
      used_bytes: { value: usage.usedBytes },
      inodes_used: { value: usage.inodesUsed },
    }));
    return { image_filesystems: usages, container_filesystems: usages };
  }
  const stats = await statfs(root);
  const usage = {
    timestamp: nanos(Date.now()),
    fs_id: { mountpoint: root },
    used_bytes: { value: (stats.blocks - stats.bfree) * stats.bsize },
    inodes_used: { value: stats.files - stats.ffree },
  };
  return { image_filesystems: [usage], container_filesystems: [usage] };
};

export const imageHandlers: Record<string, Handler> = {
  PullImage: pullImage,
  ListImages: listImages,
  ImageStatus: imageStatus,
  RemoveImage: removeImage,
  ImageFsInfo: imageFsInfo,
};

/**
 * Which stored image a text names: an id (`sha256:<hex>`, the bare hex, or a unique hex prefix of
 * 12 or more), a reference by tag (normalized: `busybox` is `docker.io/library/busybox:latest`), or
 * by digest (the digest pulled, or the manifest's). A malformed reference throws INVALID_ARGUMENT.
 */
import { asImageId, digestHex } from "./digest.ts";
import type { ImageRecord } from "./image-index.ts";
import { parseImageReference } from "./image-reference.ts";

export function findImage(images: ImageRecord[], text: string): ImageRecord | undefined {
  const id = asImageId(text);
  if (id !== undefined) return images.find((image) => image.id === id);
  if (/^[0-9a-f]{12,63}$/.test(text)) {
    const matches = images.filter((image) => digestHex(image.id).startsWith(text));
    if (matches.length === 1) return matches[0];
  }
  const reference = parseImageReference(text);
  if (reference.digest !== undefined) {
    const wanted = `${reference.name}@${reference.digest}`;
    return images.find((image) => image.repoDigests.includes(wanted))
      ?? images.find((image) => image.manifestDigest === reference.digest && image.repoDigests.some((one) => one.startsWith(`${reference.name}@`)));
  }
  const wanted = `${reference.name}:${reference.tag}`;
  return images.find((image) => image.repoTags.includes(wanted));
}

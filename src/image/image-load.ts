/**
 * `podvisor image load FILE`: images from an OCI image layout on disk — a directory, or an OCI
 * archive (a tar of one) — for machines without a registry. Each image of the layout's index is
 * stored as a pull stores it (every blob verified, every layer unpacked safely). Its name is the
 * `io.containerd.image.name` annotation, or `org.opencontainers.image.ref.name` when that is a whole
 * reference; a bare tag there (`latest`, as skopeo and umoci write) is joined to `options.name`.
 */
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { nanoid } from "nanoid";
import { extract } from "tar";
import { CodedError } from "../errors/coded-error.ts";
import type { ImageRecord } from "./image-index.ts";
import { parseIndex } from "./image-manifest.ts";
import { formatImageReference, parseImageReference } from "./image-reference.ts";
import { layoutSource } from "./image-sources.ts";
import type { ImageStore } from "./image-store.ts";

export interface LoadOptions {
  /** The repository a bare tag in the layout belongs to (`localhost/app`). */
  name?: string;
  signal?: AbortSignal;
}

/** Stores every image of the layout (or archive) at `path`; returns them. */
export async function loadImages(store: ImageStore, path: string, options: LoadOptions = {}): Promise<ImageRecord[]> {
  const info = await stat(path).catch(() => {
    throw new CodedError("NOT_FOUND", `Cannot load images from ${path}: no such file or directory`);
  });
  if (info.isDirectory()) return loadLayout(store, path, options);
  const work = join(store.dir, "ingest", `load-${nanoid(10)}`);
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    // An archive of a layout holds only directories and blob files; tar's own extractor (which
    // refuses `..` and writes through no symlink) is enough, and anything else is left out.
    await extract({ file: path, cwd: work, strict: true, preserveOwner: false, filter: (_path, entry) => "type" in entry && (entry.type === "File" || entry.type === "Directory") }).catch((error: unknown) => {
      throw new CodedError("INVALID_ARGUMENT", `Cannot load images from ${path}: it is not a tar archive (${(error as Error).message})`, { cause: error });
    });
    return await loadLayout(store, work, options);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function loadLayout(store: ImageStore, dir: string, options: LoadOptions): Promise<ImageRecord[]> {
  const indexText = await readFile(join(dir, "index.json")).catch(async () => {
    const docker = await stat(join(dir, "manifest.json")).then(() => true, () => false);
    throw new CodedError(docker ? "UNIMPLEMENTED" : "INVALID_ARGUMENT", docker
      ? `Cannot load images from ${dir}: Docker's "docker save" format is not implemented yet (convert it with skopeo to an OCI archive)`
      : `Cannot load images from ${dir}: it is not an OCI image layout (no index.json)`);
  });
  const index = parseIndex(indexText);
  const mediaTypes = new Map(index.manifests.map((entry) => [entry.digest, entry.mediaType ?? ""] as const));
  const source = layoutSource(dir, mediaTypes);
  const images: ImageRecord[] = [];
  for (const entry of index.manifests) {
    const tags = tagsOf(entry.annotations ?? {}, options.name);
    images.push(await store.ingest(source, entry.digest, tags, { signal: options.signal }));
  }
  return images;
}

function tagsOf(annotations: Record<string, string>, name: string | undefined): string[] {
  const refName = annotations["io.containerd.image.name"] ?? annotations["org.opencontainers.image.ref.name"];
  if (refName === undefined) return [];
  if (/^[\w][\w.-]{0,127}$/.test(refName) && !refName.includes("/")) {
    if (name === undefined) return [];
    return [formatImageReference(parseImageReference(`${name}:${refName}`))];
  }
  const reference = parseImageReference(refName);
  return reference.tag === undefined ? [] : [`${reference.name}:${reference.tag}`];
}

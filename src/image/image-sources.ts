/**
 * The two sources of images: a registry (through {@link RegistryClient}), and an OCI image layout
 * on disk (a directory, or an OCI archive already unpacked into one).
 */
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CodedError } from "../errors/coded-error.ts";
import { digestHex, digestOf } from "./digest.ts";
import type { ImageReference } from "./image-reference.ts";
import type { ImageSource } from "./image-source.ts";
import type { RegistryCredentials } from "./registry-auth.ts";
import type { FetchedManifest, RegistryClient } from "./registry-client.ts";

/** A repository of a registry, with the pull's credentials; `scheme` overrides the client's choice (a mirror's URL names one). */
export function registrySource(client: RegistryClient, reference: ImageReference, credentials?: RegistryCredentials, scheme?: "http:" | "https:"): ImageSource {
  return {
    name: reference.name,
    manifest: (target, signal) => client.manifest(reference, target, { credentials, signal, scheme }),
    blob: (digest, signal) => client.blob(reference, digest, { credentials, signal, scheme }),
  };
}

/** An OCI image layout directory; `mediaTypes` maps digests to the media types its index gave. */
export function layoutSource(dir: string, mediaTypes: Map<string, string>): ImageSource {
  const path = (digest: string) => join(dir, "blobs", "sha256", digestHex(digest));
  return {
    name: dir,
    async manifest(target): Promise<FetchedManifest> {
      const data = await readFile(path(target)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") throw new CodedError("NOT_FOUND", `Cannot load ${target} from ${dir}: the layout has no such blob`);
        throw error;
      });
      if (digestOf(data) !== target) throw new CodedError("DATA_LOSS", `Cannot load ${target} from ${dir}: the blob hashes to ${digestOf(data)}`);
      return { data, digest: target, mediaType: mediaTypes.get(target) ?? (JSON.parse(data.toString("utf8")) as { mediaType?: string }).mediaType };
    },
    async blob(digest) {
      return createReadStream(path(digest)) as AsyncIterable<Uint8Array>;
    },
  };
}

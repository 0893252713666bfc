/**
 * Where an image's documents and blobs come from while it is stored: a registry (a pull) or an
 * OCI image layout on disk (`podvisor image load`). The store verifies everything a source gives.
 */
import type { FetchedManifest } from "./registry-client.ts";

export interface ImageSource {
  /** What the image is called there, for messages. */
  readonly name: string;
  /** The manifest or index `target` names (a tag or a digest). */
  manifest(target: string, signal?: AbortSignal): Promise<FetchedManifest>;
  /** A blob's bytes. */
  blob(digest: string, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

/** The progress of a pull, in bytes of blobs (compressed) over the whole image. */
export interface PullProgress {
  doneBytes: number;
  totalBytes: number;
}

/**
 * The content-addressed blobs of the image store, in the OCI image layout
 * (`<store>/blobs/sha256/<hex>`). A blob is written to `<store>/ingest/` first, hashed as it comes,
 * fsynced, and renamed into `blobs/` only once its digest (and size, when known) matched: a crash,
 * a lie or a cut connection leaves nothing that counts as present, only an ingest file that the
 * next open removes.
 */
import { syncDir } from "./sync-dir.ts";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { nanoid } from "nanoid";
import { CodedError } from "../errors/coded-error.ts";
import { digester, digestHex, digestOf, validateDigest } from "./digest.ts";

/** Options of {@link BlobStore.write}. */
export interface BlobWriteOptions {
  /** The size the blob must have, when the manifest says. */
  size?: number;
  /** Called with the bytes written so far, as they come. */
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
}

export class BlobStore {
  readonly #blobs: string;
  readonly #ingest: string;

  /** `storeDir` is the image store's directory (`<root>/images`). */
  constructor(storeDir: string) {
    this.#blobs = join(storeDir, "blobs", "sha256");
    this.#ingest = join(storeDir, "ingest");
  }

  /** Makes the folders, and removes what an interrupted write left in `ingest/`. */
  async open(): Promise<void> {
    await rm(this.#ingest, { recursive: true, force: true });
    await mkdir(this.#blobs, { recursive: true, mode: 0o700 });
    await mkdir(this.#ingest, { recursive: true, mode: 0o700 });
  }

  path(digest: string): string {
    return join(this.#blobs, digestHex(digest));
  }

  async has(digest: string): Promise<boolean> {
    return stat(this.path(digest)).then((info) => info.isFile(), () => false);
  }

  /** Every digest present. */
  async list(): Promise<string[]> {
    const names = await readdir(this.#blobs).catch(() => []);
    return names.filter((name) => /^[0-9a-f]{64}$/.test(name)).map((name) => `sha256:${name}`);
  }

  async read(digest: string): Promise<Buffer> {
    return readFile(this.path(digest)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") throw new CodedError("NOT_FOUND", `Cannot read blob ${digest}: it is not in the store`);
      throw error;
    });
  }

  /** The blob as a stream of bytes. */
  stream(digest: string): NodeJS.ReadableStream {
    return createReadStream(this.path(digest));
  }

  async remove(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  /** Writes bytes held in memory (a manifest, a config), verified like any other blob. */
  async writeBytes(digest: string, data: Uint8Array): Promise<void> {
    if (digestOf(data) !== digest) throw mismatch(digest, digestOf(data));
    await this.write(digest, [data]);
  }

  /**
   * Writes a blob from `chunks`; present already → the chunks are not read. Throws DATA_LOSS
   * (nothing stored) when the bytes do not hash to `digest` or their count is not `size`.
   */
  async write(digest: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: BlobWriteOptions = {}): Promise<void> {
    validateDigest(digest);
    if (await this.has(digest)) return;
    const temporary = join(this.#ingest, `${digestHex(digest)}-${nanoid(8)}`);
    const hashing = digester();
    let bytes = 0;
    try {
      const file = await open(temporary, "wx", 0o600);
      try {
        for await (const chunk of chunks) {
          options.signal?.throwIfAborted();
          hashing.hash.update(chunk);
          bytes += chunk.byteLength;
          if (options.size !== undefined && bytes > options.size) throw sizeMismatch(digest, options.size, bytes);
          await file.write(chunk);
          options.onBytes?.(bytes);
        }
        options.signal?.throwIfAborted();
        if (options.size !== undefined && bytes !== options.size) throw sizeMismatch(digest, options.size, bytes);
        const actual = hashing.digest();
        if (actual !== digest) throw mismatch(digest, actual);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, this.path(digest));
      await syncDir(this.#blobs);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  /** Whether a stored blob still hashes to its name (a check for tests and `podvisor check`). */
  async verify(digest: string): Promise<boolean> {
    const hashing = digester();
    for await (const chunk of createReadStream(this.path(digest))) hashing.hash.update(chunk as Buffer);
    return hashing.digest() === digest;
  }
}


function mismatch(expected: string, actual: string): CodedError {
  return new CodedError("DATA_LOSS", `Cannot store blob ${expected}: its content hashes to ${actual}`, { details: { expected, actual } });
}

function sizeMismatch(digest: string, expected: number, actual: number): CodedError {
  return new CodedError("DATA_LOSS", `Cannot store blob ${digest}: ${actual} bytes where ${expected} were announced`, { details: { expected, actual } });
}

/**
 * Unpacks a layer blob once into `<store>/layers/<diffid hex>/`, the read-only lower directory
 * that every overlay of an image stacks. It is written into `layers/.unpack-*` first and renamed
 * into place only after the uncompressed stream hashed to the diff id the image's config names
 * and the file system was synced, so a directory under its diff id is always whole.
 *
 * Libraries: `tar`'s Parser reads the archive (no tar parser of our own); every write is ours
 * (layer-entry.ts), because tar's own extractor rewrites absolute symlinks and refuses links
 * through symlinks, both common in real images. Decompression is node:zlib (gzip; zstd where the
 * runtime has it).
 */
import { syncDir } from "./sync-dir.ts";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream";
import type { Readable } from "node:stream";
import zlib from "node:zlib";
import { nanoid } from "nanoid";
import { Parser } from "tar";
import type { ReadEntry } from "tar";
import { CodedError } from "../errors/coded-error.ts";
import { runHostCommand } from "../host/host-command.ts";
import { getLogger } from "../log/logger.ts";
import { digester, digestHex } from "./digest.ts";
import { writeLayerEntry } from "./layer-entry.ts";
import type { EntrySkips } from "./layer-entry.ts";
import { LayerWhiteouts } from "./layer-whiteouts.ts";

const log = getLogger("image:layer");

/** Options of {@link unpackLayer}. */
export interface UnpackLayerOptions {
  /** The verified blob's path. */
  blobPath: string;
  /** The uncompressed stream's digest, from the image config's `rootfs.diff_ids`. */
  diffId: string;
  /** `<store>/layers`. */
  layersDir: string;
  signal?: AbortSignal;
}

/** The lower directory of a diff id. */
export function layerDir(layersDir: string, diffId: string): string {
  return join(layersDir, digestHex(diffId));
}

/** Unpacks the layer unless its directory exists already; returns the directory. */
export async function unpackLayer(options: UnpackLayerOptions): Promise<string> {
  const target = layerDir(options.layersDir, options.diffId);
  if (await stat(target).then(() => true, () => false)) return target;
  const work = join(options.layersDir, `.unpack-${nanoid(10)}`);
  await mkdir(work, { mode: 0o755 });
  const started = Date.now();
  try {
    const { skips, whiteouts } = await extract(options, work);
    options.signal?.throwIfAborted();
    await runHostCommand("sync", ["-f", work], { action: `sync layer ${options.diffId}`, signal: options.signal });
    await rename(work, target).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error; // else: another unpack won
    });
    await syncDir(options.layersDir);
    log.debug("Unpacked layer", { diffId: options.diffId, durationMs: Date.now() - started, whiteouts, devicesSkipped: skips.devices.length });
    if (skips.devices.length > 0) log.warn("Left device nodes out of a layer", { diffId: options.diffId, devices: skips.devices.slice(0, 20) });
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function extract(options: UnpackLayerOptions, work: string): Promise<{ skips: EntrySkips; whiteouts: number }> {
  const skips: EntrySkips = { devices: [] };
  const whiteouts = new LayerWhiteouts();
  const hashing = digester();
  const parser = new Parser({ strict: true, noResume: true });
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  parser.on("entry", (entry: ReadEntry) => {
    chain = chain.then(async () => {
      if (failure !== undefined) return void entry.resume();
      if (whiteouts.take(entry.path)) return void entry.resume();
      await writeLayerEntry(work, entry, skips);
    }).catch((error: unknown) => {
      failure ??= error;
      entry.resume();
    });
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on("error", reject);
    parser.on("end", resolve);
  });
  parsed.catch(() => {});
  const input = decompressed(await compressionOf(options.blobPath), createReadStream(options.blobPath));
  try {
    for await (const chunk of input) {
      options.signal?.throwIfAborted();
      if (failure !== undefined) break;
      hashing.hash.update(chunk as Buffer);
      if (!parser.write(chunk as Buffer)) await new Promise((resolve) => parser.once("drain", resolve));
    }
  } catch (error) {
    throw new CodedError("DATA_LOSS", `Cannot unpack layer ${options.diffId}: ${(error as Error).message}`, { cause: error });
  } finally {
    input.destroy();
  }
  if (failure === undefined) {
    parser.end();
    await parsed.catch((error: unknown) => {
      throw new CodedError("DATA_LOSS", `Cannot unpack layer ${options.diffId}: ${(error as Error).message}`, { cause: error });
    });
  }
  await chain;
  if (failure !== undefined) throw failure;
  const actual = hashing.digest();
  if (actual !== options.diffId) {
    throw new CodedError("DATA_LOSS", `Cannot unpack layer: its content hashes to ${actual}, not to the diff id ${options.diffId}`, { details: { diffId: options.diffId, actual } });
  }
  await whiteouts.apply(work, options.signal);
  return { skips, whiteouts: whiteouts.count };
}

type Compression = "gzip" | "zstd" | "none";

/** The layer's compression, from its first bytes (media types lie more often than magic numbers). */
async function compressionOf(path: string): Promise<Compression> {
  const file = await open(path, "r");
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(4), 0, 4, 0);
    const head = buffer.subarray(0, bytesRead);
    if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
    if (head.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return "zstd";
    return "none";
  } finally {
    await file.close();
  }
}

function decompressed(compression: Compression, input: Readable): Readable {
  if (compression === "none") return input;
  if (compression === "gzip") return pipeline(input, zlib.createGunzip(), () => {});
  const zstd = (zlib as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
  if (typeof zstd !== "function") {
    input.destroy();
    throw new CodedError("UNIMPLEMENTED", "Cannot unpack a zstd layer: this runtime's node:zlib has no zstd (Node ≥ 22.15 has)");
  }
  return pipeline(input, zstd(), () => {}) as unknown as Readable;
}


/**
 * Hand-made tar archives for the unpack tests, malicious ones included: each header is encoded by
 * `tar`'s Header exactly as given (no path cleaning), so `../x`, `/abs` and device entries reach
 * the unpacker as an attacker would write them.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { Header } from "tar";
import type { HeaderData } from "tar";

export interface TarEntry {
  path: string;
  type?: HeaderData["type"];
  body?: string;
  linkpath?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  devmaj?: number;
  devmin?: number;
}

/** The archive's bytes (uncompressed). */
export function tarOf(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? "");
    const type = entry.type ?? "File";
    const header = new Header({
      path: entry.path,
      type,
      mode: entry.mode ?? (type === "Directory" ? 0o755 : 0o644),
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      size: type === "File" ? body.length : 0,
      mtime: new Date(1_700_000_000_000),
      linkpath: entry.linkpath,
      devmaj: entry.devmaj,
      devmin: entry.devmin,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === "File" && body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A gzipped layer of `entries`, with its blob digest and diff id. */
export function layerOf(entries: TarEntry[]): { blob: Buffer; digest: string; diffId: string } {
  const tar = tarOf(entries);
  const blob = gzipSync(tar);
  return { blob, digest: sha256(blob), diffId: sha256(tar) };
}

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

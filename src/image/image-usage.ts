/** What the image store takes on disk: bytes in use (allocated blocks) and inodes, for ImageFsInfo. */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export interface StoreUsage {
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
  /** When it was measured, in nanoseconds since the epoch (CRI's unit). */
  timestamp: number;
}

/** Walks `dir` without following links; a hard-linked inode counts once. */
export async function storeUsage(dir: string): Promise<StoreUsage> {
  const seen = new Set<number>();
  let usedBytes = 0;
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined || seen.has(info.ino)) return;
    seen.add(info.ino);
    usedBytes += info.blocks * 512;
    if (!info.isDirectory()) return;
    for (const name of await readdir(path).catch(() => [])) await walk(join(path, name));
  };
  await walk(dir);
  return { mountpoint: dir, usedBytes, inodesUsed: seen.size, timestamp: Date.now() * 1_000_000 };
}

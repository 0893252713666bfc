import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";

const chunkBytes = 64 * 1024;

/** Where the last `lines` lines of a file of `size` bytes begin (a last line without its newline counts). */
export async function tailOffset(file: FileHandle, size: number, lines: number): Promise<number> {
  if (lines <= 0) return size;
  let newlines = 0;
  let end = size;
  const buffer = Buffer.alloc(chunkBytes);
  // A newline that ends the file ends the last line; it does not begin another.
  const last = Buffer.alloc(1);
  if (size > 0 && (await file.read(last, 0, 1, size - 1)).bytesRead === 1 && last[0] === 10) end = size - 1;
  for (let position = end; position > 0;) {
    const start = Math.max(0, position - chunkBytes);
    const { bytesRead } = await file.read(buffer, 0, position - start, start);
    for (let index = bytesRead - 1; index >= 0; index--) {
      if (buffer[index] === 10 && ++newlines === lines) return start + index + 1;
    }
    position = start;
  }
  return 0;
}

/**
 * Copies the file from `from` to its current end onto `out`, waiting for `out` to drain when it
 * is full; returns the offset it reached.
 */
export async function copyToEnd(file: FileHandle, from: number, out: NodeJS.WritableStream): Promise<number> {
  const buffer = Buffer.alloc(chunkBytes);
  let position = from;
  for (;;) {
    const { bytesRead } = await file.read(buffer, 0, chunkBytes, position);
    if (bytesRead === 0) return position;
    position += bytesRead;
    if (!out.write(Buffer.from(buffer.subarray(0, bytesRead)))) await new Promise((resolve) => out.once("drain", resolve));
  }
}

/** Opens a log file for reading, or undefined while it does not exist (a container not started yet). */
export async function openLog(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

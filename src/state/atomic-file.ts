import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { nanoid } from "nanoid";
import { CodedError } from "../errors/coded-error.ts";

/**
 * Writes `value` as JSON so that a reader (or a crash) sees either the old file or the new one,
 * never half of one: a temporary file beside it, fsync, rename over, fsync the directory. With
 * `durable: false` the fsyncs are skipped: still never half-written, but a power loss may bring
 * back the old file — for what can be redone (an idempotent step's journal entry).
 *
 * A failed write (the disk is full, say) leaves the old file as it was and no temporary file
 * behind, and throws a {@link CodedError} with the system's code (`ENOSPC`) and a message that
 * names the file: Node's own says only "ENOSPC: no space left on device, write".
 *
 * @example
 * await writeJsonAtomic("/var/lib/podvisor/sandboxes/abc/sandbox.json", record);
 */
export async function writeJsonAtomic(path: string, value: unknown, options: { durable?: boolean } = {}): Promise<void> {
  const durable = options.durable ?? true;
  const dir = dirname(path);
  const temporary = join(dir, `.${basename(path)}.${nanoid(8)}.tmp`);
  try {
    const file = await open(temporary, "w", 0o600).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
      await mkdir(dir, { recursive: true }); // the first write into a new directory
      return open(temporary, "w", 0o600);
    });
    try {
      await file.writeFile(`${JSON.stringify(value, null, 2)}\n`);
      if (durable) await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw writeFailed(path, error);
  }
  if (!durable) return;
  try {
    const directory = await open(dir, "r");
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  } catch (error) {
    throw writeFailed(path, error);
  }
}

/** A failed write of `path` as a {@link CodedError}: the system's code (`ENOSPC`), a message that names the file. */
export function writeFailed(path: string, error: unknown): CodedError {
  const code = (error as { code?: unknown }).code;
  return new CodedError(typeof code === "string" ? code : "INTERNAL", `Cannot write ${path}: ${(error as Error).message}`, {
    cause: error,
    details: { path },
  });
}

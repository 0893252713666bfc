import { open } from "node:fs/promises";

/** Makes a directory's entries durable (a rename into it, a file made in it). */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The CNI cache under the daemon's root (`<root>/cni/<container id>.json`): the configuration an
 * ADD is about to use, written durably before the first plugin runs and removed once its DEL is
 * done. A daemon that dies between an ADD and the sandbox's record still knows exactly what to
 * DEL: the leak check finds the entry with no record and deletes the attachment from it.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../state/atomic-file.ts";
import { getLogger } from "../log/logger.ts";

const log = getLogger("network:cni");

/** One attachment begun: what its DEL needs. */
export interface CniCacheEntry {
  containerId: string;
  ifName: string;
  netns: string;
  source: string;
  config: Record<string, unknown>;
  createdAt: number;
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class CniCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Writes the entry durably (fsync): it must outlive a crash in the middle of the ADD. */
  async write(entry: CniCacheEntry): Promise<void> {
    await writeJsonAtomic(this.#path(entry.containerId), entry);
  }

  /** Removes an entry; one already gone is done. */
  async remove(containerId: string): Promise<void> {
    await rm(this.#path(containerId), { force: true });
  }

  /** Every entry; one that cannot be read is logged and left out (the next check reads it again). */
  async list(): Promise<CniCacheEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const entries: CniCacheEntry[] = [];
    for (const name of names.filter((n) => n.endsWith(".json") && !n.startsWith("."))) {
      try {
        entries.push(JSON.parse(await readFile(join(this.dir, name), "utf8")) as CniCacheEntry);
      } catch (error) {
        log.warn("Cannot read a CNI cache entry", { file: join(this.dir, name), error: String(error) });
      }
    }
    return entries;
  }

  #path(containerId: string): string {
    if (!idPattern.test(containerId)) throw new TypeError(`Cannot use CNI container id ${JSON.stringify(containerId)}: expected [A-Za-z0-9_.-]`);
    return join(this.dir, `${containerId}.json`);
  }
}

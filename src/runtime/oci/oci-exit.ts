/**
 * conmon's report of a container's exit: the file `<exit-dir>/<id>` it writes when the container's
 * init ends, watched here with one `fs.watch` (inotify) on the exit dir for every container; and
 * `<persist-dir>/exit`, kept for good, where the status is read from (also by a later daemon).
 * The status is conmon's: the exit code, or 128+n for signal n.
 */
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { constants } from "node:os";
import { getLogger } from "../../log/logger.ts";

const log = getLogger("runtime:oci");

/**
 * Safety nets, cheap at thousands of running containers: the exit dir is listed this often (one
 * readdir, in case an inotify event was lost), and every TICKS-th time each waiting container's conmon
 * is checked for life (one /proc read each), which is how a conmon killed before writing is found —
 * every time for the containers being stopped ({@link OciExitWatcher.expedite}).
 */
const rescanMs = 1_000;
const orphanCheckTicks = 10;

/** The status in conmon's exit file, or undefined while there is none (or it is being written). */
export async function readExitStatus(path: string): Promise<number | undefined> {
  const text = await readFile(path, "utf8").catch(() => "");
  const status = Number.parseInt(text.trim(), 10);
  return Number.isInteger(status) && status >= 0 ? status : undefined;
}

/**
 * What a status means: 128+n for a known signal n is reported as that signal (conmon cannot tell it
 * apart from `exit(128+n)`, and neither can CRI clients); the code is kept either way.
 */
export function exitFromStatus(status: number): { exitCode: number; signal?: NodeJS.Signals } {
  if (status > 128 && status < 128 + 65) {
    const name = Object.entries(constants.signals).find(([, number]) => number === status - 128)?.[0];
    if (name !== undefined) return { exitCode: status, signal: name as NodeJS.Signals };
  }
  return { exitCode: status };
}

interface Waiting {
  persistFile: string;
  isConmonAlive?: () => Promise<boolean>;
  resolve(status: number | undefined): void;
}

/**
 * @example
 * const exits = new OciExitWatcher("/var/lib/podvisor/oci/exits");
 * const status = await exits.whenExited("c1", "/var/lib/podvisor/oci/c1/persist");
 */
export class OciExitWatcher {
  readonly dir: string;
  #watcher: FSWatcher | undefined;
  #ready: Promise<void> | undefined;
  #waiting = new Map<string, Waiting[]>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Containers being stopped: their conmon is checked for life at every tick. */
  #urgent = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Resolves with the status once conmon has written it (at once if it has already), or with
   * undefined once `isConmonAlive` says conmon is gone without having written it: then no one can.
   */
  async whenExited(id: string, persistDir: string, options: { isConmonAlive?: () => Promise<boolean> } = {}): Promise<number | undefined> {
    await this.#start();
    const persistFile = join(persistDir, "exit");
    return new Promise<number | undefined>((resolve) => {
      const list = this.#waiting.get(id) ?? [];
      list.push({ persistFile, resolve, isConmonAlive: options.isConmonAlive });
      this.#waiting.set(id, list);
      this.#check(id); // it may have been written before the watch began
    });
  }

  /** Checks the container's conmon for life at every tick from now on (it is being stopped). */
  expedite(id: string): void {
    if (this.#waiting.has(id)) this.#urgent.add(id);
  }

  /** Stops watching; pending waits stay pending (the backend is being let go). */
  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#ready = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #start(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.#watcher = watch(this.dir, (_event, name) => {
        if (name !== null && this.#waiting.has(String(name))) this.#check(String(name));
      });
      this.#watcher.on("error", (error) => log.warn("Cannot watch the exit dir: relying on rereads", { dir: this.dir, error: String(error) }));
      let ticks = 0;
      this.#timer = setInterval(() => {
        if (this.#waiting.size === 0) return;
        const all = ++ticks % orphanCheckTicks === 0;
        for (const id of all ? this.#waiting.keys() : this.#urgent) void this.#check(id, { orphaned: true });
        if (all) return;
        readdir(this.dir).then((names) => {
          for (const name of names) if (this.#waiting.has(name)) void this.#check(name);
        }, () => {});
      }, rescanMs);
    })();
    return this.#ready;
  }

  /** With `orphaned`, also asks whether conmon still lives (the slow path, on the reread timer only). */
  async #check(id: string, options: { orphaned?: boolean } = {}): Promise<void> {
    const list = this.#waiting.get(id);
    if (list === undefined) return;
    const alive = options.orphaned === true && list[0].isConmonAlive !== undefined ? await list[0].isConmonAlive() : true;
    // The exit dir's file is the event; the persist dir's is the status kept for good. Either will do.
    // Read after the liveness check: a conmon that wrote the status and then exited is not a lost one.
    const status = (await readExitStatus(join(this.dir, id))) ?? (await readExitStatus(list[0].persistFile));
    if ((status === undefined && alive) || this.#waiting.get(id) !== list) return;
    this.#waiting.delete(id);
    this.#urgent.delete(id);
    for (const waiting of list) waiting.resolve(status);
  }
}

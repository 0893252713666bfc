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
import { readProcStartTime } from "./proc-start-time.ts";

const log = getLogger("runtime:oci");

/**
 * Safety nets, cheap at thousands of running containers: the exit dir is listed this often (one
 * readdir, in case an inotify event was lost); every TICKS-th time each waiting container's conmon
 * is checked for life by its start time (one /proc read each: a pid taken again by a later process
 * is not conmon), which is how a conmon killed before writing is found. The containers being
 * stopped ({@link OciExitWatcher.expedite}) are looked at every tick, by pid only (one `kill(pid, 0)`
 * each, no file read): 3,000 of them read three files each per tick kept libuv's pool a second
 * behind, and every exit of a 1,000 × 3 stop on runc was seen ~2.7 s after conmon wrote it.
 */
const rescanMs = 1_000;
const orphanCheckTicks = 10;

/** The conmon that watches a container: its pid, and its start time, which tells it from a later process with that pid. */
export interface ConmonIdentity {
  pid: number;
  startTime: string;
}

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
  /** Undefined: conmon is not known (an adopted container without its `started.json`), so it counts as gone. */
  conmon?: ConmonIdentity;
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
  /** Containers whose files are being read; a check asked for meanwhile runs once after it (`again`: whether conmon was found gone). */
  #reading = new Map<string, { again?: boolean }>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Resolves with the status once conmon has written it (at once if it has already), or with
   * undefined once `conmon` is found gone without having written it: then no one can.
   */
  async whenExited(id: string, persistDir: string, options: { conmon?: ConmonIdentity } = {}): Promise<number | undefined> {
    await this.#start();
    const persistFile = join(persistDir, "exit");
    return new Promise<number | undefined>((resolve) => {
      const list = this.#waiting.get(id) ?? [];
      list.push({ persistFile, resolve, conmon: options.conmon });
      this.#waiting.set(id, list);
      this.#check(id); // it may have been written before the watch began
    });
  }

  /** Checks the container's conmon for life at every tick from now on (it is being stopped). */
  expedite(id: string): void {
    this.#urgent.add(id); // its wait may not be registered yet: the tick forgets it if none is
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
        if (++ticks % orphanCheckTicks === 0) {
          for (const id of this.#waiting.keys()) void this.#checkOrphan(id);
          return;
        }
        for (const id of this.#urgent) {
          if (!this.#waiting.has(id)) this.#urgent.delete(id);
          else if (this.#conmonPidGone(id)) this.#check(id, true);
        }
        readdir(this.dir).then((names) => {
          for (const name of names) if (this.#waiting.has(name)) this.#check(name);
        }, () => {});
      }, rescanMs);
    })();
    return this.#ready;
  }

  /** Whether no process has the pid of the container's conmon (or conmon is not known): certain, and costs no file read. */
  #conmonPidGone(id: string): boolean {
    const conmon = this.#waiting.get(id)?.[0].conmon;
    if (conmon === undefined) return true;
    try {
      process.kill(conmon.pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "ESRCH";
    }
  }

  /** The slow check: conmon's start time, so a later process with its pid does not pass for it. */
  async #checkOrphan(id: string): Promise<void> {
    const conmon = this.#waiting.get(id)?.[0].conmon;
    const alive = conmon !== undefined && (await readProcStartTime(conmon.pid)) === conmon.startTime;
    if (!alive) this.#check(id, true);
  }

  /**
   * Reads the container's status files and resolves its waits if conmon wrote one — or, when
   * `conmonGone`, with undefined if it wrote none. Checks of one container never overlap: one asked
   * for while another reads runs once after it.
   */
  #check(id: string, conmonGone = false): void {
    const reading = this.#reading.get(id);
    if (reading !== undefined) {
      reading.again = reading.again === true || conmonGone;
      return;
    }
    if (!this.#waiting.has(id)) return;
    const state: { again?: boolean } = {};
    this.#reading.set(id, state);
    void this.#read(id, conmonGone).finally(() => {
      this.#reading.delete(id);
      if (state.again !== undefined) this.#check(id, state.again);
    });
  }

  async #read(id: string, conmonGone: boolean): Promise<void> {
    const list = this.#waiting.get(id);
    if (list === undefined) return;
    // The exit dir's file is the event; the persist dir's is the status kept for good. Either will do.
    // Read after conmon was found gone: a conmon that wrote the status and then exited is not a lost one.
    const status = (await readExitStatus(join(this.dir, id))) ?? (await readExitStatus(list[0].persistFile));
    if ((status === undefined && !conmonGone) || this.#waiting.get(id) !== list) return;
    this.#waiting.delete(id);
    this.#urgent.delete(id);
    for (const waiting of list) waiting.resolve(status);
  }
}

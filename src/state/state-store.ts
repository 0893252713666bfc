import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { mountsUnder } from "../host/mountinfo.ts";
import { resolveInsideRoot } from "../host/paths.ts";
import { CodedError } from "../errors/coded-error.ts";
import { HostBatcher } from "../host/host-batcher.ts";
import { writeJsonAtomic } from "./atomic-file.ts";
import { FileSystemSyncer } from "./file-system-syncer.ts";
import { RecordWriter } from "./record-writer.ts";
import type { ContainerRecord, SandboxRecord } from "./records.ts";

const sandboxFile = "sandbox.json";

/** A change to the records in memory, for whoever keeps a copy of them (the API thread's replica). */
export type RecordChange =
  | { type: "sandbox"; record: SandboxRecord }
  | { type: "container"; record: ContainerRecord }
  | { type: "sandbox-removed"; id: string }
  | { type: "container-removed"; id: string };

/** One stop's entry in the stop journal (`<root>/stops/*.json`): its sandboxes and its absolute deadline. */
interface StopIntentEntry {
  podSandboxIds: string[];
  deadlineAt: number;
  requestedAt: number;
}

/** A stop journal entry found on disk, with the file it is in (shared by the stops asked for together). */
export interface StopIntent extends StopIntentEntry {
  path: string;
}

function readStopIntentEntry(value: unknown): StopIntentEntry | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const entry = value as Partial<Record<keyof StopIntentEntry, unknown>>;
  if (!Array.isArray(entry.podSandboxIds) || typeof entry.deadlineAt !== "number") return undefined;
  return { podSandboxIds: entry.podSandboxIds.map(String), deadlineAt: entry.deadlineAt, requestedAt: Number(entry.requestedAt) };
}

const containerFile = "container.json";

/**
 * The records of every sandbox and container, in memory and on disk, one JSON file each:
 *
 *     <root>/sandboxes/<sandboxId>/sandbox.json
 *     <root>/sandboxes/<sandboxId>/containers/<containerId>/container.json
 *
 * Status and list read the memory copy only, so they never wait behind a stop.
 */
export class StateStore {
  readonly root: string;
  readonly sandboxes = new Map<string, SandboxRecord>();
  readonly containers = new Map<string, ContainerRecord>();
  #flush: HostBatcher<string, boolean>;
  #syncer: FileSystemSyncer;
  #writer = new RecordWriter();
  #intents = new HostBatcher<StopIntentEntry, string>((entries) => this.#writeStopIntents(entries), { concurrency: 1 });
  /** Intent files by path: how many of their entries' stops have not finished yet. */
  #intentEntriesLeft = new Map<string, number>();
  /** Container ids by sandbox, so that a sandbox's containers are found without a scan. */
  #bySandbox = new Map<string, Set<string>>();
  #listeners = new Set<(change: RecordChange) => void>();

  constructor(root: string) {
    this.root = root;
    this.#syncer = new FileSystemSyncer(root);
    this.#flush = new HostBatcher(async (roots) => {
      await this.#syncer.sync();
      return new Map(roots.map((root) => [root, true]));
    }, { concurrency: 1, windowMs: 10, maxBatch: 100_000 });
  }

  /** Ends the helper process that makes writes durable (see `FileSystemSyncer`) and the record writer's thread. */
  close(): void {
    this.#syncer.close();
    this.#writer.close();
  }

  /**
   * Group commit: records written in the same moment are made durable together by one
   * `syncfs(2)` of the root's file system (coreutils `sync --file-system`, from a helper), instead of two fsyncs
   * each — at a stop of 1,000 sandboxes, 4,000 container records are written at once, and 8,000
   * fsyncs would fill the thread pool that every other file operation waits for. The write itself
   * allocates nothing on disk (see `RecordFiles`), on a thread of its own (see `RecordWriter`).
   */
  async #writeDurably(path: string, value: unknown): Promise<void> {
    await this.#writer.write(path, `${JSON.stringify(value)}\n`);
    await this.#flush.run(this.root);
  }

  sandboxDir(sandboxId: string): string {
    return join(this.root, "sandboxes", sandboxId);
  }

  containerDir(sandboxId: string, containerId: string): string {
    return join(this.sandboxDir(sandboxId), "containers", containerId);
  }

  containersOf(sandboxId: string): ContainerRecord[] {
    return [...(this.#bySandbox.get(sandboxId) ?? [])].map((id) => this.containers.get(id) as ContainerRecord);
  }

  #index(record: ContainerRecord): void {
    this.containers.set(record.id, record);
    let ids = this.#bySandbox.get(record.sandboxId);
    if (ids === undefined) this.#bySandbox.set(record.sandboxId, (ids = new Set()));
    ids.add(record.id);
  }

  #unindex(record: ContainerRecord): void {
    this.containers.delete(record.id);
    this.#bySandbox.get(record.sandboxId)?.delete(record.id);
    this.#emit({ type: "container-removed", id: record.id });
  }

  /** Hears of every change to the records in memory, after it is made; returns the unsubscribe. */
  onChange(listener: (change: RecordChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(change: RecordChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  /** Says a sandbox's record changed in memory only (the phase a stop reached, between durable writes). */
  touchSandbox(record: SandboxRecord): void {
    this.#emit({ type: "sandbox", record });
  }

  /** Writes a sandbox's record, durably. */
  async saveSandbox(record: SandboxRecord): Promise<void> {
    await this.#writeDurably(join(record.dir, sandboxFile), record);
    this.sandboxes.set(record.id, record);
    this.#emit({ type: "sandbox", record });
  }

  /**
   * Records, durably, that these sandboxes are to be stopped by `deadlineAt`: a stop of a thousand
   * sandboxes costs one write before its signals go out, not a thousand. The stops asked for in the
   * same turn of the event loop (or while the previous entry is being written) share one file, an
   * entry each: kubelet stops pods one `StopPodSandbox` each, and a thousand calls at once made a
   * thousand new files — 650 ms before the first signal on this host, whose file system pays for
   * every new inode. Made durable with the group commit of the records. Returns the function that
   * releases the entry once its stop has finished; the file goes with its last entry.
   */
  async journalStopIntent(ids: string[], deadlineAt: number): Promise<() => Promise<void>> {
    const path = await this.#intents.run({ podSandboxIds: ids, deadlineAt, requestedAt: Date.now() });
    await this.#flush.run(this.root);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const left = (this.#intentEntriesLeft.get(path) ?? 1) - 1;
      if (left > 0) {
        this.#intentEntriesLeft.set(path, left);
        return;
      }
      this.#intentEntriesLeft.delete(path);
      await this.forgetStopIntent(path);
    };
  }

  /** Writes the stops asked for together as one intent file; each entry is told its file. */
  async #writeStopIntents(entries: StopIntentEntry[]): Promise<Map<StopIntentEntry, string>> {
    const path = join(this.root, "stops", `${Date.now()}-${Math.random().toString(36).slice(2, 10)}.json`);
    await writeJsonAtomic(path, { stops: entries }, { durable: false });
    this.#intentEntriesLeft.set(path, entries.length);
    return new Map(entries.map((entry) => [entry, path]));
  }

  /** Deletes a stop intent file (every entry of it) once its stops are over. */
  async forgetStopIntent(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /**
   * The stops a crash interrupted: every intent entry still on disk (a file is deleted once all its
   * stops have finished; entries of one file share its `path`). A file that cannot be read is
   * skipped and named in `unreadable`; it is never deleted, so nothing is lost by a misread.
   */
  async readStopIntents(): Promise<{ intents: StopIntent[]; unreadable: string[] }> {
    const dir = join(this.root, "stops");
    const intents: StopIntent[] = [];
    const unreadable: string[] = [];
    for (const name of (await listDir(dir)).filter((name) => name.endsWith(".json"))) {
      const path = join(dir, name);
      const file = await readRecord<{ stops?: unknown } & Partial<StopIntentEntry>>(path).catch(() => undefined);
      // A file of one stop ({ podSandboxIds, deadlineAt }) is what daemons before 2026-12-05 wrote.
      const entries: unknown[] | undefined = file === undefined ? undefined : Array.isArray(file.stops) ? file.stops : [file];
      const read = entries?.map(readStopIntentEntry);
      if (read === undefined || read.length === 0 || read.includes(undefined)) unreadable.push(path);
      else for (const entry of read as StopIntentEntry[]) intents.push({ path, ...entry });
    }
    return { intents, unreadable };
  }

  async saveContainer(record: ContainerRecord): Promise<void> {
    await this.#writeDurably(join(record.dir, containerFile), record);
    this.#index(record);
    this.#emit({ type: "container", record });
  }

  /** Deletes a container's directory; refuses while anything is still mounted under it. */
  async removeContainer(record: ContainerRecord): Promise<void> {
    this.#writer.forget(join(record.dir, containerFile));
    await this.#removeDir(record.dir);
    this.#unindex(record);
  }

  /** Deletes a sandbox's directory and every container record in it. */
  async removeSandbox(record: SandboxRecord): Promise<void> {
    this.#writer.forget(join(record.dir, sandboxFile));
    for (const container of this.containersOf(record.id)) this.#writer.forget(join(container.dir, containerFile));
    await this.#removeDir(record.dir);
    for (const container of this.containersOf(record.id)) this.#unindex(container);
    this.#bySandbox.delete(record.id);
    this.sandboxes.delete(record.id);
    this.#emit({ type: "sandbox-removed", id: record.id });
  }

  /** Reads every record under the root (a clean restart finds every sandbox and container again). */
  async load(): Promise<void> {
    for (const sandboxId of await listDir(join(this.root, "sandboxes"))) {
      const sandbox = await readRecord<SandboxRecord>(join(this.sandboxDir(sandboxId), sandboxFile));
      if (sandbox === undefined) continue;
      this.sandboxes.set(sandbox.id, sandbox);
      for (const containerId of await listDir(join(sandbox.dir, "containers"))) {
        const container = await readRecord<ContainerRecord>(join(this.containerDir(sandboxId, containerId), containerFile));
        if (container !== undefined) this.#index(container);
      }
    }
  }

  async #removeDir(dir: string): Promise<void> {
    const resolved = await resolveInsideRoot(this.root, dir);
    const mounted = await mountsUnder(resolved);
    if (mounted.length > 0) {
      throw new CodedError("FAILED_PRECONDITION", `Cannot remove ${dir}: ${mounted.length} mount(s) still under it`, {
        details: { mounts: mounted.map((mount) => mount.mountPoint) },
      });
    }
    await rm(resolved, { recursive: true, force: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

async function readRecord<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

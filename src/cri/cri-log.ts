/**
 * The CRI log of a container (`log_path` in its sandbox's `log_directory`), in the format kubelet
 * and `crictl logs` read: `<RFC3339Nano> <stream> <F|P> <line>`. The process backend appends the
 * container's output to its own log; this follows that file and writes each new line to the CRI
 * log, opening it for every write (so a rotated log is followed by a new file at once:
 * ReopenContainerLog has nothing to do). What it cannot tell: the stream — stdout and stderr share
 * the backend's file, so every line is `stdout` — and the time a line was written (it stamps the
 * time it read it, within ~250 ms). An OCI runtime's container log is written by conmon in the CRI
 * format already (stream and time exact): its lines are copied as they are. A daemon that restarts
 * follows again from the end of the file: lines written while it was down are in the backend's log only.
 */
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { appendFile, mkdir, open, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { ContainerStatus } from "../api/api-types.ts";
import { getLogger } from "../log/logger.ts";

const log = getLogger("cri:log");
const pollMs = 250;

interface Follower {
  offset: number;
  partial: string;
  timer: ReturnType<typeof setInterval>;
  watcher?: FSWatcher;
  reading?: Promise<void>;
}

export class CriLogs {
  readonly #followed = new Map<string, Follower>();
  readonly #statusOf: (id: string) => ContainerStatus | undefined;

  /** Whether the backend's log is raw output (the process backend), or in the CRI format already (conmon's). */
  readonly #rawOutput: boolean;

  constructor(statusOf: (id: string) => ContainerStatus | undefined, options: { rawOutput: boolean }) {
    this.#statusOf = statusOf;
    this.#rawOutput = options.rawOutput;
  }

  /** Starts following a running container that has a CRI log; `fromEnd` after a restart. */
  follow(status: ContainerStatus, options: { fromEnd?: boolean } = {}): void {
    if (status.criLogPath === undefined || status.state !== "running" || this.#followed.has(status.id)) return;
    const follower: Follower = { offset: 0, partial: "", timer: setInterval(() => this.#tick(status), pollMs) };
    follower.timer.unref?.();
    this.#followed.set(status.id, follower);
    if (options.fromEnd === true) {
      follower.reading = stat(status.logPath)
        .then((stats) => void (follower.offset = stats.size), () => {})
        .finally(() => (follower.reading = undefined));
    }
    try {
      follower.watcher = watch(status.logPath, () => this.#tick(status));
      follower.watcher.on("error", () => {});
    } catch {
      // No watcher (a file not there yet): the timer reads it.
    }
  }

  /** Stops following every container (the daemon shuts down). */
  close(): void {
    for (const id of [...this.#followed.keys()]) this.#stop(id);
  }

  #tick(status: ContainerStatus): void {
    const follower = this.#followed.get(status.id);
    if (follower === undefined || follower.reading !== undefined) return;
    follower.reading = (async () => {
      const now = this.#statusOf(status.id);
      let last = now === undefined || now.state !== "running";
      try {
        await this.#read(status, follower, last);
      } catch (error) {
        // The log of a container that has ended may go with it (a pod removed while it ran): nothing
        // is left to copy, and nothing is wrong.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        const after = this.#statusOf(status.id);
        if (after !== undefined && after.state === "running") throw error;
        last = true;
      } finally {
        // The last read is the last, whether it copied or failed: a follower never outlives its container.
        if (last) this.#stop(status.id);
      }
    })()
      .catch((error: unknown) => void log.warn("Cannot copy a container's output to its CRI log", { containerId: status.id, error }))
      .finally(() => (follower.reading = undefined));
  }

  async #read(status: ContainerStatus, follower: Follower, last: boolean): Promise<void> {
    const file = await open(status.logPath, "r");
    let text = "";
    try {
      const { size } = await file.stat();
      if (size > follower.offset) {
        const buffer = Buffer.alloc(size - follower.offset);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, follower.offset);
        follower.offset += bytesRead;
        text = buffer.subarray(0, bytesRead).toString("utf8");
      }
    } finally {
      await file.close();
    }
    const lines = (follower.partial + text).split("\n");
    follower.partial = lines.pop() ?? "";
    if (last && follower.partial !== "") {
      lines.push(follower.partial);
      follower.partial = "";
    }
    if (lines.length === 0) return;
    const stamp = new Date().toISOString();
    const path = status.criLogPath as string;
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, lines.map((line) => (this.#rawOutput ? `${stamp} stdout F ${line}\n` : `${line}\n`)).join(""));
  }

  #stop(id: string): void {
    const follower = this.#followed.get(id);
    if (follower === undefined) return;
    clearInterval(follower.timer);
    follower.watcher?.close();
    this.#followed.delete(id);
  }
}

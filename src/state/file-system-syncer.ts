import { execa } from "execa";
import type { ResultPromise } from "execa";
import { getLogger } from "../log/logger.ts";

const log = getLogger("state:sync");

/** The helper: `sync --file-system "$1"` for each line it reads; answers `ok` or `fail <status>`. */
const script = 'while read -r _; do if sync --file-system "$1"; then echo ok; else echo "fail $?"; fi; done';

/**
 * Makes a file system durable (`syncfs(2)`, through coreutils' `sync --file-system`) on request,
 * from one long-lived shell instead of a new process each time. Forking from the daemon costs more
 * the bigger it is — 7 ms of CPU per spawn at 600 MiB, measured here — and a stop of 1,000
 * sandboxes asks for a sync every few tens of milliseconds; forking `sync` from a small shell costs
 * a fraction of that. The shell ends when the daemon closes its stdin (or dies); a shell that died
 * is started again at the next request.
 *
 * @example
 * const syncer = new FileSystemSyncer("/var/lib/podvisor");
 * await syncer.sync();
 * syncer.close();
 */
export class FileSystemSyncer {
  readonly #path: string;
  #helper: ResultPromise | undefined;
  #waiting: { resolve(): void; reject(error: Error): void }[] = [];
  #buffer = "";

  constructor(path: string) {
    this.#path = path;
  }

  sync(): Promise<void> {
    const helper = this.#helper ?? this.#start();
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      helper.stdin?.write("sync\n");
    });
  }

  /** Ends the helper (it exits when its stdin closes); a later `sync` starts another. */
  close(): void {
    this.#helper?.stdin?.end();
    this.#helper = undefined;
  }

  #start(): ResultPromise {
    const helper = execa("sh", ["-c", script, "podvisor-sync", this.#path], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "ignore",
      buffer: false,
      reject: false,
      cleanup: false, // it ends by itself when our end of its stdin closes, the daemon's death included
      env: { LC_ALL: "C" },
    });
    this.#helper = helper;
    helper.stdout?.setEncoding("utf8");
    helper.stdout?.on("data", (chunk: string) => this.#read(chunk));
    helper.stdin?.on("error", () => {}); // a dead helper: its exit below fails what waits
    void helper.then((result) => {
      if (this.#helper === helper) this.#helper = undefined;
      const waiting = this.#waiting.splice(0);
      if (waiting.length === 0) return;
      const error = new Error(`Cannot sync ${this.#path}: the sync helper ended (${result.shortMessage || `exit ${result.exitCode}`})`);
      log.warn("The sync helper ended with syncs waiting", { waiting: waiting.length, error });
      for (const waiter of waiting) waiter.reject(error);
    });
    return helper;
  }

  #read(chunk: string): void {
    this.#buffer += chunk;
    for (let newline = this.#buffer.indexOf("\n"); newline !== -1; newline = this.#buffer.indexOf("\n")) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      const waiter = this.#waiting.shift();
      if (line === "ok") waiter?.resolve();
      else waiter?.reject(new Error(`Cannot sync ${this.#path}: sync --file-system exited with status ${line.slice("fail ".length)}`));
    }
  }
}

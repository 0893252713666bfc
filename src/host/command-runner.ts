/**
 * The command runner: one small long-lived process (`command-runner.pl`, perl from perl-base) that
 * forks and runs the host tools src/host asks for (`mount`, `unshare`, `ip`, `umount`, …), one line
 * per request and per result.
 *
 * Why not spawn them from the daemon: a fork copies the parent's page tables, so its cost grows with
 * the daemon's memory, and so with the number of sandboxes it holds — profiled while running 2,000
 * sandboxes, the main thread spent 58% of its busy time inside `spawn` (~12 ms each at 460–660 MiB,
 * two per sandbox: `unshare` and `mount`), and it cannot answer anything meanwhile. Forked from a
 * ~5 MiB process, a command costs what the command costs. (The process holder, process-holder.ts,
 * does the same for containers.)
 *
 * One runner per thread that asks (it is started at the first command); it ends when its thread lets
 * go of its stdin — after {@link idleMs} without a command, so that a short-lived process (the CLI,
 * a benchmark) can exit — or when the daemon exits. A command's cancellation is a SIGKILL sent by
 * the runner.
 */
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { getLogger } from "../log/logger.ts";
import { LineReader } from "../api/line-reader.ts";
import { Limiter } from "./host-batcher.ts";

const log = getLogger("host:runner");

const script = fileURLToPath(new URL("./command-runner.pl", import.meta.url));

/**
 * Commands running at once: each holds three pipes in the runner, which waits on them with select()
 * (at most 1,024 descriptors); the rest wait their turn here.
 */
const maxRunning = 128;

/** The longest line the runner may send: a command's output past ~128 MiB ends the runner. */
const maxLineBytes = 256 * 1024 * 1024;

/** How long a runner waits for a command before it is let go (a busy daemon keeps its runner). */
const idleMs = 2_000;

/** How a command ended, as the runner saw it. */
export interface RunnerOutcome {
  /** Its exit code; undefined when a signal ended it. */
  exitCode: number | undefined;
  /** The signal that ended it (`SIGKILL`), if one did. */
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** Why it could not be started at all (no process was made). */
  spawnError?: string;
}

/** What the runner was asked for and has not answered yet. */
interface Pending {
  resolve(outcome: RunnerOutcome): void;
  reject(error: Error): void;
  /** For an `umount`: the errno of each path (0: unmounted). */
  umounted?(errors: number[]): void;
}

const signalNames = new Map<number, string>([[1, "SIGHUP"], [2, "SIGINT"], [6, "SIGABRT"], [9, "SIGKILL"], [11, "SIGSEGV"], [13, "SIGPIPE"], [15, "SIGTERM"]]);

const hex = (text: string) => (text === "" ? "-" : Buffer.from(text, "utf8").toString("hex"));
const unhex = (field: string | undefined) => (field === undefined || field === "-" ? "" : Buffer.from(field, "hex").toString("utf8"));

class RunnerProcess {
  readonly #child: ResultPromise;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  /** The runner's lines: a command's whole output comes hex-encoded on one (up to 2 × its size). */
  readonly #lines = new LineReader(maxLineBytes);
  #ended: Error | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #onEnd: () => void;

  constructor(onEnd: () => void) {
    this.#onEnd = onEnd;
    const child = execa("perl", [script], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "ignore",
      buffer: false,
      reject: false,
      extendEnv: false,
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
    });
    this.#child = child;
    child.stdout?.on("data", (chunk: Buffer) => this.#read(chunk));
    child.stdin?.on("error", () => {}); // a runner gone: its end below fails what waits
    void child.then((result) => {
      clearTimeout(this.#idleTimer);
      onEnd();
      this.#ended = new Error(`the command runner ended (${result.failed ? result.shortMessage : `exit ${result.exitCode}`})`);
      for (const pending of this.#pending.values()) pending.reject(this.#ended);
      this.#pending.clear();
    });
  }

  run(argv: readonly string[], input: string | undefined, signal: AbortSignal | undefined, env: Readonly<Record<string, string>> | undefined): Promise<RunnerOutcome> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    const seq = ++this.#seq;
    const outcome = new Promise<RunnerOutcome>((resolve, reject) => this.#pending.set(seq, { resolve, reject }));
    clearTimeout(this.#idleTimer);
    const environment = env === undefined ? "" : ` ${Object.keys(env).length}${Object.entries(env).map(([name, value]) => ` ${hex(`${name}=${value}`)}`).join("")}`;
    this.#child.stdin?.write(`run ${seq} ${input === undefined ? "-" : hex(input)} ${argv.length} ${argv.map((arg) => hex(arg)).join(" ")}${environment}\n`);
    if (signal !== undefined) {
      const kill = () => this.#child.stdin?.write(`kill ${seq}\n`);
      signal.addEventListener("abort", kill, { once: true });
      void outcome.finally(() => signal.removeEventListener("abort", kill)).catch(() => {});
    }
    return outcome;
  }

  umount(paths: readonly string[], flags: number): Promise<number[]> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    const seq = ++this.#seq;
    const errors = new Promise<number[]>((resolve, reject) => this.#pending.set(seq, { resolve: () => {}, umounted: resolve, reject }));
    clearTimeout(this.#idleTimer);
    this.#child.stdin?.write(`umount ${seq} ${flags} ${paths.length} ${paths.map((path) => hex(path)).join(" ")}\n`);
    return errors;
  }

  #read(chunk: Buffer): void {
    const lines = this.#lines.push(chunk);
    if (lines === "too-long") {
      this.#child.kill("SIGKILL"); // its end fails what waits, and the next command starts another
      return;
    }
    for (const line of lines) {
      const fields = line.split(" ");
      const seq = Number(fields[1]);
      const pending = this.#pending.get(seq);
      if (pending === undefined) continue;
      this.#pending.delete(seq);
      if (fields[0] === "umounted") {
        pending.umounted?.(fields[2] === "-" ? [] : (fields[2] ?? "").split(",").map(Number));
      } else if (fields[0] === "done") {
        const status = Number(fields[2]);
        const signalNumber = status & 0x7f;
        pending.resolve({
          exitCode: signalNumber === 0 ? (status >> 8) & 0xff : undefined,
          signal: signalNumber === 0 ? undefined : (signalNames.get(signalNumber) ?? `signal ${signalNumber}`),
          stdout: unhex(fields[3]),
          stderr: unhex(fields[4]),
        });
      } else {
        pending.resolve({ exitCode: undefined, signal: undefined, stdout: "", stderr: "", spawnError: unhex(fields[2]) });
      }
    }
    if (this.#pending.size === 0) {
      // Let go once idle: it ends at the end of its stdin, and the next command starts another.
      clearTimeout(this.#idleTimer);
      this.#idleTimer = setTimeout(() => {
        this.#onEnd();
        this.#child.stdin?.end();
      }, idleMs);
      (this.#idleTimer as { unref?(): void }).unref?.();
    }
  }
}

let current: RunnerProcess | undefined;
const limiter = new Limiter(maxRunning);

function runner(): RunnerProcess {
  if (current === undefined) {
    const started: RunnerProcess = new RunnerProcess(() => {
      if (current !== started) return;
      current = undefined;
      log.debug("The command runner ended or was let go; the next command starts another");
    });
    current = started;
  }
  return current;
}

/** umount2(2) flags. */
export const umountFlags = { detach: 2, noFollow: 8 } as const;

/**
 * umount2(2) of each path, in order, by the runner itself (no umount(8), which reads the whole
 * mount table for each file it is given): per path 0 when unmounted, else the errno (EINVAL: not a
 * mount point, EBUSY: in use). Undefined on a machine whose umount2 the runner does not know: use umount(8).
 *
 * @example
 * const errors = await umountThroughRunner(["/x/merged/etc/resolv.conf", "/x/merged"], umountFlags.noFollow);
 */
export async function umountThroughRunner(paths: readonly string[], flags: number): Promise<number[] | undefined> {
  if (paths.length === 0) return [];
  const errors = await runner().umount(paths, flags);
  return errors.includes(-1) ? undefined : errors;
}

/**
 * Runs `file` with `args` through this thread's command runner (started at the first call); the
 * command's environment is `env` if given, else the runner's: PATH and `LC_ALL=C`. The command leads
 * a process group of its own; aborting `signal` kills that group (the command and what it started).
 *
 * @example
 * const { exitCode, stderr } = await runThroughRunner("mount", ["-t", "tmpfs", "shm", "/x"]);
 */
export function runThroughRunner(
  file: string,
  args: readonly string[],
  options: { input?: string; signal?: AbortSignal; env?: Readonly<Record<string, string>> } = {},
): Promise<RunnerOutcome> {
  return limiter.run(() => {
    options.signal?.throwIfAborted();
    return runner().run([file, ...args], options.input, options.signal, options.env);
  });
}

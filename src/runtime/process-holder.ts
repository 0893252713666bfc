/**
 * The process holder: one small long-lived process (`process-holder.pl`, perl from perl-base) that
 * is the parent of every container's main process — what conmon is to CRI-O, but one per daemon
 * instead of one per container (a process per container, at 40,000 containers, would cost more
 * memory than the containers).
 *
 * Why not spawn containers from the daemon itself:
 * - forking copies the parent's page tables: 7 ms of CPU per spawn at 600 MiB, measured here, and a
 *   10,000-sandbox daemon passed 1.2 GiB (running 10,000 × 3 took over an hour); the holder is ~5 MiB;
 * - the exit status goes to the parent only: with the daemon as parent, a crashed daemon took every
 *   exit status with it. The holder outlives the daemon (it goes on reaping until its last child is
 *   gone) and writes each status to a file before it reports it, so the next daemon reads it;
 * - the runtimes' own child handling costs the daemon's main thread ~75 µs per exit (execa) and
 *   scans every child on each SIGCHLD (libuv); the holder reaps with one `waitpid(-1)` per exit and
 *   reports exits as lines, many per read.
 * The holder itself is spawned through execa. Signals go through it too: it signals a pid only
 * while that pid is its own unreaped child, so a reused pid is never hit.
 */
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { CodedError } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";

export { decodeWaitStatus, readHeldExit } from "./process-exit-status.ts";

const log = getLogger("runtime:holder");

const script = fileURLToPath(new URL("./process-holder.pl", import.meta.url));

/** What the holder runs: every path absolute, checked by the caller. */
export interface HolderSpawn {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** stdout and stderr are appended here. */
  logPath: string;
  /** The cgroup's `cgroup.procs` to join before exec, or "" for none. */
  cgroupProcs: string;
  /** Where the holder writes the raw wait status when the process ends (see {@link decodeWaitStatus}). */
  exitPath: string;
}

/**
 * What the holder did about a container's other processes once its main process was gone (the
 * main-exit rule: they die with it, at once; see `process-holder.pl`, end_leftovers).
 */
export interface HeldLeftovers {
  /** Its cgroup held no process any more (the holder read it): no need to wait for that. */
  cgroupEmpty: boolean;
  /** Not empty, and the holder killed the rest (cgroup.kill, or its process group): gone in moments. */
  leftoversKilled: boolean;
}

/** How a held process ended, as its holder reports it. */
export interface HeldExit extends HeldLeftovers {
  /** The raw wait status (see {@link decodeWaitStatus}). */
  status: number;
}

/** A process the holder started. */
export interface HeldProcess {
  pid: number;
  /** How it ended, once the holder reaped it; rejects if the holder was lost first. */
  exited: Promise<HeldExit>;
  /**
   * Sends a signal through the holder that started it, while that holder has not reaped it (else
   * nothing); rejects with {@link HolderLostError} once that holder is gone or was let go.
   */
  signal(signal: NodeJS.Signals): Promise<void>;
}

/**
 * The holder is gone while it still held processes: their exit status can no longer reach the daemon
 * as a line. `released`: the daemon let it go (`close()`), so it ended only once its last child had
 * ended, and each status is in its exit file; otherwise it was killed, and the statuses are lost.
 */
export class HolderLostError extends Error {
  readonly released: boolean;

  constructor(message: string, released: boolean) {
    super(message);
    this.released = released;
  }
}

interface Reply {
  fields: string[];
  /** For "started": the process's exit, expected from the moment the line was read. */
  exited?: Promise<HeldExit>;
  /** For "watching": the watched process's end, expected from the moment the line was read. */
  gone?: Promise<HeldLeftovers>;
}

interface Waiter {
  resolve(value: Reply): void;
  reject(error: Error): void;
}

/**
 * @example
 * const holder = new ProcessHolder();
 * const child = await holder.spawn({ argv: ["sleep", "5"], env: {}, cwd: "/", logPath, cgroupProcs: "", exitPath });
 * await child.signal("SIGTERM");
 * decodeWaitStatus((await child.exited).status); // { signal: "SIGTERM" }
 * holder.close();
 */
export class ProcessHolder {
  /**
   * The holder processes that take requests, oldest first: new containers go to the last one until it
   * holds {@link childrenPerHolder}; each keeps its own children (and their signals) for good. One let
   * go by `close()` lives on for its own children.
   */
  #holders: HolderProcess[] = [];
  readonly #childrenPerHolder: number;

  /** `childrenPerHolder`: default {@link childrenPerHolder} (tests set a small one). */
  constructor(options: { childrenPerHolder?: number } = {}) {
    this.#childrenPerHolder = options.childrenPerHolder ?? childrenPerHolder;
  }

  async spawn(request: HolderSpawn): Promise<HeldProcess> {
    const holder = this.#holder();
    const hex = (text: string) => Buffer.from(text, "utf8").toString("hex");
    const env = Object.entries(request.env).map(([name, value]) => hex(`${name}=${value}`));
    const fields = [request.exitPath, request.logPath, request.cgroupProcs, request.cwd].map(hex);
    const { fields: reply, exited } = await holder.ask("spawn", [...fields, String(request.argv.length), ...request.argv.map(hex), String(env.length), ...env]);
    if (reply[0] === "failed") {
      const [, , stage, error] = reply;
      const message = Buffer.from(error ?? "", "hex").toString("utf8");
      throw new CodedError("START_FAILED", `Cannot start ${request.argv[0]}: ${stageText[stage] ?? stage}: ${message}`, { details: { stage } });
    }
    const pid = Number(reply[2]);
    return { pid, exited: exited as Promise<HeldExit>, signal: (signal) => holder.signal(pid, signal) };
  }

  /**
   * Asks the holder to watch a container's main process that it did not start (adopted after a
   * restart, or orphaned by a holder that was killed), found by `pid` in the cgroup `cgroupDir`
   * (absolute). Resolves once that process is gone and the rest of the cgroup killed — at once if it
   * is gone already or not in the cgroup. Rejects with code `UNAVAILABLE` where the holder cannot
   * watch (no pidfd), with {@link HolderLostError} if the holder is lost first.
   */
  async watch(pid: number, cgroupDir: string): Promise<HeldLeftovers> {
    const holder = this.#holder();
    const { fields, gone } = await holder.ask("watch", [String(pid), Buffer.from(cgroupDir, "utf8").toString("hex")]);
    if (fields[0] === "failed") {
      const message = Buffer.from(fields[3] ?? "", "hex").toString("utf8");
      throw new CodedError("UNAVAILABLE", `Cannot watch process ${pid}: ${message}`, { details: { pid } });
    }
    return gone as Promise<HeldLeftovers>;
  }

  /** The holder new requests go to: the last one, or a new one if it is full, gone or was let go. */
  #holder(): HolderProcess {
    const last = this.#holders.at(-1);
    if (last !== undefined && last.held < this.#childrenPerHolder) return last;
    const holder: HolderProcess = new HolderProcess(() => {
      this.#holders = this.#holders.filter((other) => other !== holder);
    });
    this.#holders.push(holder);
    if (this.#holders.length > 1) log.info("Started another process holder: the others hold as many children as one should", { holders: this.#holders.length, childrenPerHolder: this.#childrenPerHolder });
    return holder;
  }

  /** The pid of the holder new containers go to, once it runs (for logs, and for tests that kill it). */
  get pid(): number | undefined {
    return this.#holders.at(-1)?.pid;
  }

  /**
   * Lets every holder go: each ends once its last child has ended, writing each exit status to its
   * file (so a crash of the daemon loses none either). The next `spawn` starts another.
   */
  close(): void {
    for (const holder of this.#holders) holder.release();
    this.#holders = [];
  }
}

/**
 * Children one holder process takes. It reaps with waitpid(-1), and the kernel answers that by
 * walking the caller's whole list of children: measured over a stop-all, a holder of 12,000
 * children spent 155 µs of CPU per exit, one of 4,000 spent 75 µs (1.86 s against 0.3 s a stop).
 * Past this many, new containers go to another holder.
 */
const childrenPerHolder = 2_048;

/** One holder process, and what waits on it: replies to its requests, exits of its children. */
class HolderProcess {
  readonly #helper: ResultPromise;
  #seq = 0;
  #replies = new Map<number, Waiter>();
  #spawnsInFlight = 0;
  /** Made when the holder says "started", before anyone awaits it: its exit may be on the next line. */
  #exits = new Map<number, { resolve(exit: HeldExit): void; reject(error: Error): void }>();
  /** The same for watched processes (not its children), by pid; several watches of one pid share it. */
  #gones = new Map<number, { promise: Promise<HeldLeftovers>; resolve(gone: HeldLeftovers): void; reject(error: Error): void }>();
  #buffer = "";
  /** Let go by `close()`: it takes no more requests and ends once its children have. */
  #released = false;
  #ended: HolderLostError | undefined;

  constructor(onEnd: () => void) {
    const helper = execa("perl", [script], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "ignore",
      buffer: false,
      reject: false,
      detached: true, // its own session: a terminal's ^C to the daemon must not end it
      cleanup: false, // it outlives the daemon on purpose: it keeps its children's exit statuses
      extendEnv: false,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    this.#helper = helper;
    helper.stdout?.setEncoding("utf8");
    helper.stdout?.on("data", (chunk: string) => this.#read(chunk));
    helper.stdin?.on("error", () => {}); // a dead holder: its exit below fails what waits
    void helper.then((result) => {
      onEnd();
      const why = result.failed ? result.shortMessage : `exit ${result.exitCode}`;
      this.#ended = new HolderLostError(`the process holder ended (${why})`, this.#released);
      const waiting = [...this.#replies.values(), ...this.#exits.values(), ...this.#gones.values()];
      this.#replies.clear();
      this.#exits.clear();
      this.#gones.clear();
      if (waiting.length === 0) return;
      if (this.#released) log.debug("A released process holder ended; its children's exit statuses are in their exit files", { held: waiting.length });
      else log.error("The process holder ended while it held processes: their exit status is lost", { held: waiting.length, why });
      for (const waiter of waiting) waiter.reject(this.#ended);
    });
  }

  get pid(): number | undefined {
    return this.#helper.pid;
  }

  /** Its children not yet reaped, with the spawns asked for and not yet answered. */
  get held(): number {
    return this.#exits.size + this.#spawnsInFlight;
  }

  /** Sends `signal` to `pid` if it is still this holder's unreaped child; otherwise nothing. */
  async signal(pid: number, signal: NodeJS.Signals): Promise<void> {
    const number = constants.signals[signal];
    if (number === undefined) throw new RangeError(`Cannot send signal ${signal}: unknown signal`);
    await this.ask("signal", [String(pid), String(number)]);
  }

  release(): void {
    this.#released = true;
    this.#helper.stdin?.end();
  }

  /** Rejects with {@link HolderLostError} once the holder has ended or been let go: it takes no more requests. */
  ask(op: string, fields: string[]): Promise<Reply> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    if (this.#released) return Promise.reject(new HolderLostError("the process holder was let go", true));
    const seq = ++this.#seq;
    const spawning = op === "spawn";
    if (spawning) this.#spawnsInFlight++;
    const reply = new Promise<Reply>((resolve, reject) => {
      this.#replies.set(seq, { resolve, reject });
      this.#helper.stdin?.write(`${op} ${seq} ${fields.join(" ")}\n`);
    });
    if (!spawning) return reply;
    // Counted until answered (then its exit is awaited in #exits, or it failed).
    return reply.finally(() => this.#spawnsInFlight--);
  }

  #expectExit(pid: number): Promise<HeldExit> {
    const exit = Promise.withResolvers<HeldExit>();
    exit.promise.catch(() => {}); // a lost holder is handled by whoever awaits it
    this.#exits.set(pid, exit);
    return exit.promise;
  }

  #expectGone(pid: number): Promise<HeldLeftovers> {
    const known = this.#gones.get(pid);
    if (known !== undefined) return known.promise;
    const gone = Promise.withResolvers<HeldLeftovers>();
    gone.promise.catch(() => {}); // a lost holder is handled by whoever awaits it
    this.#gones.set(pid, gone);
    return gone.promise;
  }

  #read(chunk: string): void {
    this.#buffer += chunk;
    let start = 0;
    for (let newline = this.#buffer.indexOf("\n"); newline !== -1; newline = this.#buffer.indexOf("\n", start)) {
      const fields = this.#buffer.slice(start, newline).split(" ");
      start = newline + 1;
      if (fields[0] === "exit") {
        const pid = Number(fields[1]);
        this.#exits.get(pid)?.resolve({ status: Number(fields[2]), cgroupEmpty: fields[3] === "1", leftoversKilled: fields[4] === "1" });
        this.#exits.delete(pid);
        continue;
      }
      if (fields[0] === "gone") {
        const pid = Number(fields[1]);
        this.#gones.get(pid)?.resolve({ cgroupEmpty: fields[2] === "1", leftoversKilled: fields[3] === "1" });
        this.#gones.delete(pid);
        continue;
      }
      const exited = fields[0] === "started" ? this.#expectExit(Number(fields[2])) : undefined;
      const gone = fields[0] === "watching" ? this.#expectGone(Number(fields[2])) : undefined;
      const seq = Number(fields[1]);
      this.#replies.get(seq)?.resolve({ fields, exited, gone });
      this.#replies.delete(seq);
    }
    this.#buffer = this.#buffer.slice(start);
  }
}

const stageText: Record<string, string> = {
  fork: "cannot fork",
  pipe: "cannot make a pipe",
  cgroup: "cannot join its cgroup",
  cwd: "cannot enter its working directory",
  stdin: "cannot open /dev/null",
  log: "cannot open its log",
};

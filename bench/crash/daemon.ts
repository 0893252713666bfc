/**
 * A daemon a crash trial starts through the CLI (as an operator would), kills with SIGKILL, starts
 * again on the same root, and finally stops with SIGTERM.
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { waitForSocket } from "../../src/api/socket-probe.ts";

const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** Generous: a Deno daemon on a loaded 2-core machine takes seconds to serve. */
const socketTimeoutMs = 60_000;

export type DaemonRuntime = "node" | "deno";

export interface CrashDaemonOptions {
  runtime: DaemonRuntime;
  /** An existing directory, its real path (the tag is a hash of it). */
  root: string;
  /** The budget of the stop-all its SIGTERM starts. */
  stopTimeoutMs: number;
  /** Its --log-level; default "warn". Its last lines are kept for a failed trial's report. */
  logLevel?: string;
  /** Its --backend; default "process". */
  backend?: CrashBackend;
}

/** The container backends a crash trial runs on (runc and crun need a rootfs: see `run.ts`). */
export type CrashBackend = "process" | "runc" | "crun";

/** The tag in the daemon's netns and cgroup names: `pv-<tag>-…`, `podvisor-<tag>/…`. */
export function tagOf(root: string): string {
  return createHash("sha256").update(root).digest("hex").slice(0, 8);
}

export class CrashDaemon {
  readonly socket: string;
  /** When its socket first answered (epoch ms). */
  servedAt = 0;
  /** How long from spawn to a served socket. */
  startMs = 0;
  #child: ResultPromise<{ preferLocal: true; reject: false; stdin: "ignore"; stdout: "ignore"; stderr: "pipe"; buffer: false }>;
  #stderr = "";
  /** The last 64 KiB it logged. */
  static readonly #logKeptChars = 65_536;

  private constructor(options: CrashDaemonOptions) {
    this.socket = `${options.root}/api.sock`;
    const args = [cli, "daemon", "--root", options.root, "--socket", this.socket, "--workers", "2", "--stop-timeout", String(options.stopTimeoutMs / 1_000), "--log-level", options.logLevel ?? "warn", "--leak-check-interval", "0", "--backend", options.backend ?? "process"];
    const [file, argv] = options.runtime === "node" ? ["node", args] : ["deno", ["run", "-A", ...args]];
    this.#child = execa(file, argv, { preferLocal: true, reject: false, stdin: "ignore", stdout: "ignore", stderr: "pipe", buffer: false });
    this.#child.stderr.setEncoding("utf8");
    this.#child.stderr.on("data", (chunk: string) => (this.#stderr = (this.#stderr + chunk).slice(-CrashDaemon.#logKeptChars)));
  }

  static async start(options: CrashDaemonOptions): Promise<CrashDaemon> {
    const startedAt = Date.now();
    const daemon = new CrashDaemon(options);
    try {
      await waitForSocket(daemon.socket, { timeoutMs: socketTimeoutMs, gaveUp: () => (daemon.running ? undefined : "The daemon exited before serving its socket") });
    } catch (error) {
      await daemon.crash();
      throw new Error(`Cannot start the daemon: ${(error as Error).message}\n${daemon.logTail()}`);
    }
    daemon.servedAt = Date.now();
    daemon.startMs = daemon.servedAt - startedAt;
    return daemon;
  }

  get running(): boolean {
    return this.#child.nodeChildProcess.exitCode === null && this.#child.nodeChildProcess.signalCode === null;
  }

  /** The last lines it logged (warnings and errors), for a failure's report. */
  logTail(lines = 20): string {
    return this.#stderr.trimEnd().split("\n").slice(-lines).join("\n");
  }

  /** SIGKILL: a crash. Its root stays as it was, for the next daemon. */
  async crash(): Promise<void> {
    this.#child.kill("SIGKILL");
    await this.#child;
  }

  /** SIGTERM: it stops every sandbox under its stop timeout and exits; resolves with how it exited. */
  async terminate(): Promise<{ exitCode?: number; signal?: string }> {
    // Not `child.kill`: on Deno (2.9) a child sent a signal that way is reported ended by it even when
    // it exited 0 after handling it, and the daemon's exit code is what is checked here.
    if (this.running && this.#child.pid !== undefined) process.kill(this.#child.pid, "SIGTERM");
    const { exitCode, signal } = await this.#child;
    return { exitCode, signal };
  }
}

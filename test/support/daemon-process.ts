import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { waitForSocket } from "../../src/api/socket-probe.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import type { HostLeftovers } from "../../src/host/leftovers.ts";
import { commandFor } from "./runtimes.ts";
import type { Runtime } from "./runtimes.ts";

const cli = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** A real daemon in a child process, on its own root and socket, started through the CLI. */
export interface DaemonProcess {
  runtime: Runtime;
  root: string;
  socket: string;
  /** The CRI endpoint's socket (served on Node only: see src/cri/cri-start.ts). */
  criSocket: string;
  child: ResultPromise;
  /** SIGTERM, wait for exit, and report what was left on the host (should be nothing). */
  stop(): Promise<HostLeftovers>;
  /** SIGKILL: a crash. The root stays, for a next daemon on it. */
  crash(): Promise<void>;
}

/** Starts a daemon; given `root`, on an existing root (a restart), else on a fresh one. */
export async function startDaemonProcess(runtime: Runtime, extraArgs: string[] = [], options: { root?: string } = {}): Promise<DaemonProcess> {
  const root = options.root ?? (await mkdtemp(join(tmpdir(), "pvtest-e2e-")));
  const socket = join(root, "api.sock");
  const criSocket = join(root, "cri.sock");
  const [file, args] = commandFor(runtime, cli, ["daemon", "--root", root, "--socket", socket, "--cri-socket", criSocket, "--workers", "2", "--stop-timeout", "2",
    // A test's daemon never takes the host's own pod network (/etc/cni/net.d): none, unless the test names one (the last flag wins).
    "--cni-conf-dir", join(root, "no-cni-networks"), ...extraArgs]);
  const child = execa(file, args, { preferLocal: true, reject: false, env: { PODVISOR_LOG_LEVEL: "warn" }, stdin: "ignore" });
  let exited = false;
  void child.then(() => (exited = true));
  await waitForSocket(socket, { timeoutMs: 30_000, gaveUp: () => (exited ? "The daemon exited before serving its socket" : undefined) });
  // The CRI endpoint starts right after the API socket, on Node only.
  if (runtime === "node") await waitForSocket(criSocket, { timeoutMs: 30_000, gaveUp: () => (exited ? "The daemon exited before serving its CRI socket" : undefined) });
  return {
    runtime,
    root,
    socket,
    criSocket,
    child,
    async stop() {
      child.kill("SIGTERM");
      await child;
      const { createHash } = await import("node:crypto");
      const tag = createHash("sha256").update(root).digest("hex").slice(0, 8);
      const leftovers = await findHostLeftovers({ root, tag });
      if (leftovers.mounts.length === 0) await rm(root, { recursive: true, force: true });
      return leftovers;
    },
    async crash() {
      child.kill("SIGKILL");
      await child;
    },
  };
}

/** A raw JSON-RPC client on one connection: send lines, read lines. */
export class RawClient {
  readonly socket: net.Socket;
  readonly lines: unknown[] = [];
  #waiters: (() => void)[] = [];
  #buffer = "";

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      for (let newline = this.#buffer.indexOf("\n"); newline !== -1; newline = this.#buffer.indexOf("\n")) {
        this.lines.push(JSON.parse(this.#buffer.slice(0, newline)));
        this.#buffer = this.#buffer.slice(newline + 1);
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
    socket.on("error", () => {});
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once("connect", () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  /** Sends a request and waits for the response with its id (notifications are kept in `lines`). */
  async call(method: string, params?: unknown, id: number = Math.floor(Math.random() * 1e9)): Promise<{ result?: any; error?: any }> {
    this.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    return this.waitFor((line) => (line as { id?: unknown }).id === id) as Promise<{ result?: any; error?: any }>;
  }

  async waitFor(match: (line: unknown) => boolean, timeoutMs = 30_000): Promise<unknown> {
    const deadlineAt = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadlineAt) throw new Error("No matching line within the timeout");
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** Resolves when the daemon closes this connection. */
  closed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.closed) resolve();
      else this.socket.once("close", () => resolve());
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

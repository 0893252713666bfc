import net from "node:net";
import { createJSONRPCErrorResponse, JSONRPCClient } from "json-rpc-2.0";
import type { JSONRPCError, JSONRPCID, JSONRPCResponse } from "json-rpc-2.0";
import { LineReader } from "../api/line-reader.ts";
import { ApiError, CliError } from "./cli-error.ts";

/** A message the daemon sends about a request in flight, e.g. `progress` with the phase a stop reached. */
export interface Notification {
  method: string;
  params: { requestId?: JSONRPCID; [key: string]: unknown };
}

export interface CallOptions {
  /** Stop waiting when this aborts; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Stop waiting at this epoch time (ms); the call rejects with a DEADLINE_EXCEEDED error. */
  deadlineAt?: number;
  /** Called with each notification the daemon sends about this request. */
  onNotification?: (notification: Notification) => void;
}

// A metrics page or a long list can be large; a line past this is a broken daemon, not data.
const maxLineBytes = 256 * 2 ** 20;

/**
 * A connection to the daemon's API: JSON-RPC 2.0 over its unix socket, one JSON object per line
 * both ways. Several calls may be in flight on one connection.
 *
 * @example
 * const client = await ApiClient.connect("/run/podvisor/podvisor.sock");
 * try {
 *   const { items } = await client.call<{ items: object[] }>("ListPodSandbox");
 * } finally {
 *   client.close();
 * }
 */
export class ApiClient {
  readonly socketPath: string;
  #socket: net.Socket;
  #rpc: JSONRPCClient;
  #nextId = 1;
  #inFlight = new Set<JSONRPCID>();
  #listeners = new Map<JSONRPCID, (notification: Notification) => void>();

  private constructor(socketPath: string, socket: net.Socket) {
    this.socketPath = socketPath;
    this.#socket = socket;
    this.#rpc = new JSONRPCClient((payload) => {
      if (!socket.writable) throw new Error("the connection to the daemon is closed");
      socket.write(`${JSON.stringify(payload)}\n`);
    });
    const reader = new LineReader(maxLineBytes);
    socket.on("data", (chunk: Buffer) => {
      const lines = reader.push(chunk);
      if (lines === "too-long") return this.#failAll("UNAVAILABLE", "the daemon sent a line too long to read");
      for (const line of lines) if (line.trim() !== "") this.#receive(line);
    });
    socket.on("error", () => {});
    socket.on("close", () => this.#failAll("UNAVAILABLE", "the daemon closed the connection before answering"));
  }

  /**
   * Connects to the daemon; a missing or refusing socket is one clear error: "is it running?".
   * `deadlineAt` (epoch ms) or `signal` bound the wait.
   */
  static connect(socketPath: string, options: { deadlineAt?: number; signal?: AbortSignal } = {}): Promise<ApiClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      const give = (error: Error) => {
        settle();
        socket.destroy();
        reject(error);
      };
      const onAbort = () => give(new CliError(`cannot connect to the podvisor daemon at ${socketPath}: ${String(options.signal?.reason)}`));
      // A timer of its own, cleared when the race settles: on Deno a pending AbortSignal.timeout
      // with a listener keeps the process alive until it fires.
      const timer = options.deadlineAt === undefined ? undefined : setTimeout(() => {
        give(new CliError(`cannot connect to the podvisor daemon at ${socketPath}: it did not answer in time`));
      }, Math.max(0, options.deadlineAt - Date.now()));
      const settle = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      socket.once("error", (error: NodeJS.ErrnoException) => give(connectError(socketPath, error)));
      socket.once("connect", () => {
        settle();
        resolve(new ApiClient(socketPath, socket));
      });
    });
  }

  /** Calls `method`; resolves with its result, or rejects with an {@link ApiError} carrying the daemon's code. */
  async call<T = unknown>(method: string, params?: object, options: CallOptions = {}): Promise<T> {
    if (options.signal?.aborted) throw new ApiError(`${method} was cancelled: ${String(options.signal.reason)}`, { code: "CANCELLED" });
    const id = this.#nextId++;
    if (options.onNotification !== undefined) this.#listeners.set(id, options.onNotification);
    this.#inFlight.add(id);
    // A deadline or an abort answers the call in the daemon's stead, so there is one way out.
    const onAbort = () => this.#answer(id, "CANCELLED", `${method} was cancelled: ${String(options.signal?.reason)}`);
    const timer = options.deadlineAt === undefined ? undefined : setTimeout(() => {
      this.#answer(id, "DEADLINE_EXCEEDED", `the daemon did not answer ${method} before the deadline`);
    }, Math.max(0, options.deadlineAt - Date.now()));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await this.#rpc.requestAdvanced({ jsonrpc: "2.0", id, method, params });
      if (response.error) throw toApiError(response.error);
      return response.result as T;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      this.#inFlight.delete(id);
      this.#listeners.delete(id);
    }
  }

  /** Closes the connection; calls still in flight reject. */
  close(): void {
    this.#socket.destroy();
  }

  #receive(line: string): void {
    let message: { id?: JSONRPCID; method?: string; params?: Notification["params"]; error?: JSONRPCError };
    try {
      message = JSON.parse(line);
    } catch {
      return this.#failAll("UNAVAILABLE", "the daemon sent a line that is not JSON");
    }
    if (typeof message.method === "string" && message.id === undefined) {
      const notification = { method: message.method, params: message.params ?? {} };
      this.#listeners.get(notification.params.requestId ?? null)?.(notification);
    } else if (message.id === null && message.error !== undefined) {
      // An error about the connection itself (too many connections, a line too long).
      this.#failAll(codeOf(message.error), message.error.message);
    } else {
      this.#rpc.receive(message as JSONRPCResponse);
    }
  }

  #answer(id: JSONRPCID, code: string, message: string): void {
    this.#rpc.receive(createJSONRPCErrorResponse(id, 0, message, { code }));
  }

  #failAll(code: string, message: string): void {
    for (const id of this.#inFlight) this.#answer(id, code, message);
    this.#socket.destroy();
  }
}

function toApiError(error: JSONRPCError): ApiError {
  const data = error.data as { details?: unknown } | undefined;
  return new ApiError(error.message, { code: codeOf(error), details: data?.details });
}

function codeOf(error: JSONRPCError): string {
  const code = (error.data as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : "UNAVAILABLE";
}

function connectError(socketPath: string, error: NodeJS.ErrnoException): CliError {
  const prefix = `cannot connect to the podvisor daemon at ${socketPath}`;
  if (error.code === "ENOENT" || error.code === "ECONNREFUSED") return new CliError(`${prefix}: is it running?`);
  if (error.code === "EACCES" || error.code === "EPERM") return new CliError(`${prefix}: permission denied (are you root, or in the socket's group?)`);
  return new CliError(`${prefix}: ${error.message}`);
}

import { chmod, chown, mkdir, unlink } from "node:fs/promises";
import net from "node:net";
import { dirname } from "node:path";
import { getLogger } from "../log/logger.ts";
import { rpcError } from "./api-errors.ts";
import { LineReader } from "./line-reader.ts";
import type { PodService } from "./pod-service.ts";
import { RpcDispatcher } from "./rpc-dispatcher.ts";
import { canConnect } from "./socket-probe.ts";

const log = getLogger("api:socket");

/** How long a refused connection may go on sending (discarded) before it is cut. */
const refusedLingerMs = 2_000;

export interface SocketServerOptions {
  /** The unix socket's path. A stale socket there is replaced; a live one is an error. */
  path: string;
  service: PodService;
  /** A group that may use the socket too (mode 0660); otherwise it is 0600, root only. */
  socketGroupId?: number;
  /** Connections served at once; one more is told RESOURCE_EXHAUSTED and closed. Default 512. */
  maxConnections?: number;
  /** The longest request line; a longer one is refused and its connection closed. Default 1 MiB. */
  maxLineBytes?: number;
  /** A connection with nothing in flight is closed after this long without a request. Default 60 s. */
  idleTimeoutMs?: number;
  /**
   * Requests one connection may have in flight before the daemon stops reading from it (a batch
   * counts each of its requests, and may hold at most this many). Default 64.
   */
  maxInFlight?: number;
}

type Limits = Required<Omit<SocketServerOptions, "path" | "service" | "socketGroupId">>;

export interface SocketServer {
  path: string;
  close(): Promise<void>;
}

/**
 * Serves the JSON-RPC API on a unix socket, one JSON object per line. Each connection is on its
 * own: garbage, an oversized line, a client that says nothing or reads nothing affects only its
 * own connection, never the daemon or another client.
 */
export async function startSocketServer(options: SocketServerOptions): Promise<SocketServer> {
  const limits: Limits = {
    maxConnections: options.maxConnections ?? 512,
    maxLineBytes: options.maxLineBytes ?? 2 ** 20,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    maxInFlight: options.maxInFlight ?? 64,
  };
  const dispatcher = new RpcDispatcher({ maxBatchLength: limits.maxInFlight });
  const sockets = new Set<net.Socket>();
  // Half-open: a client may end its side after its last request (`echo … | socat`) and still read
  // every answer; the write side ends once each request it sent is answered (serveConnection).
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    if (sockets.size >= limits.maxConnections) {
      socket.on("error", () => {});
      socket.on("end", () => socket.end());
      socket.end(`${JSON.stringify({ jsonrpc: "2.0", id: null, error: rpcError("RESOURCE_EXHAUSTED", `Too many connections (limit ${limits.maxConnections})`) })}\n`);
      // A client that never closes its side would hold the descriptor for ever.
      setTimeout(() => socket.destroy(), refusedLingerMs).unref();
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveConnection(socket, dispatcher, options.service, limits);
  });
  await removeStaleSocket(options.path);
  await mkdir(dirname(options.path), { recursive: true, mode: 0o755 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  if (options.socketGroupId !== undefined) await chown(options.path, 0, options.socketGroupId);
  await chmod(options.path, options.socketGroupId === undefined ? 0o600 : 0o660);
  server.on("error", (error) => log.error("Socket server failed", { error }));
  log.info("Serving the API", { socket: options.path });
  return {
    path: options.path,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await unlink(options.path).catch(() => {});
    },
  };
}

function serveConnection(socket: net.Socket, dispatcher: RpcDispatcher, service: PodService, limits: Limits): void {
  const reader = new LineReader(limits.maxLineBytes);
  /** Lines read but not dispatched yet: at most what came with the read that filled the budget. */
  const queued: string[] = [];
  let inFlight = 0; // requests dispatched and not answered; a batch counts each of its requests
  let draining = false; // the client is not reading: its answers wait in our buffer
  let refused = false;
  let peerEnded = false; // the client sent its last byte: answer what it sent, then end our side
  const send = (message: unknown) => {
    if (socket.destroyed || !socket.writable) return;
    // A client that reads nothing: stop reading its requests until it drains what it was sent.
    if (!socket.write(`${encode(message)}\n`) && !draining) {
      draining = true;
      socket.once("drain", () => {
        draining = false;
        pump();
      });
    }
  };
  const context = { service, notify: (method: string, params: unknown) => send({ jsonrpc: "2.0", method, params }) };
  // Dispatches queued lines while the connection has budget and reads its answers; reads more
  // only when nothing is queued, so neither a flood of lines nor a batch outruns the budget.
  const pump = () => {
    while (queued.length > 0 && inFlight < limits.maxInFlight && !draining) {
      const parsed = dispatcher.parse(queued.shift() as string);
      inFlight += parsed.requests;
      void parsed.run(context)
        .then((response) => {
          if (response !== null) send(response);
        })
        .catch((error: unknown) => log.error("Dispatch failed", { error }))
        .finally(() => {
          inFlight -= parsed.requests;
          pump();
        });
    }
    if (refused) return;
    if (peerEnded) {
      if (queued.length === 0 && inFlight === 0) socket.end(); // after the answers already written
      return;
    }
    if (queued.length === 0 && inFlight < limits.maxInFlight && !draining) socket.resume();
    else socket.pause();
  };
  socket.setTimeout(limits.idleTimeoutMs, () => {
    // Silent with nothing in flight: done. Not reading what it was sent for as long: cut, so its
    // unread answers and its descriptor are not held for ever (end() would wait for the reads).
    if (socket.writableLength > 0) socket.destroy();
    else if (inFlight === 0) socket.end();
  });
  socket.on("error", (error) => log.debug("Connection failed", { error }));
  socket.on("data", (chunk: Buffer) => {
    if (refused) return; // discarded: the client is being closed
    const lines = reader.push(chunk);
    if (lines === "too-long") {
      // Answer, then keep draining (unbuffered) so the client can finish writing and read the
      // answer; close it for good shortly after.
      refused = true;
      queued.length = 0;
      socket.resume();
      send({ jsonrpc: "2.0", id: null, error: rpcError("RESOURCE_EXHAUSTED", `Request line longer than ${limits.maxLineBytes} bytes`) });
      socket.end();
      setTimeout(() => socket.destroy(), refusedLingerMs).unref();
      return;
    }
    for (const line of lines) if (line.trim() !== "") queued.push(line);
    pump();
  });
  socket.on("end", () => {
    peerEnded = true;
    if (refused) return void socket.end();
    // A last request without its newline still counts: the end of the stream ends the line.
    const last = reader.finish();
    if (last.trim() !== "") queued.push(last);
    pump();
  });
}

/** JSON of an answer; one that cannot be encoded becomes an INTERNAL error, never a thrown exception. */
function encode(message: unknown): string {
  try {
    return JSON.stringify(message);
  } catch (error) {
    log.error("Cannot encode a response", { error: error instanceof Error ? error : String(error) });
    const id = (message as { id?: unknown }).id;
    return JSON.stringify({ jsonrpc: "2.0", id: typeof id === "string" || typeof id === "number" ? id : null, error: rpcError("INTERNAL", "Cannot encode the response") });
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  if (await canConnect(path)) throw new Error(`Cannot serve on ${path}: another daemon is answering there`);
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
}

import net from "node:net";

/** An answer as it came off the wire. */
export interface RpcAnswer {
  jsonrpc?: string;
  id?: unknown;
  result?: any;
  error?: { code: number; message: string; data?: { code?: string; reason?: string; details?: unknown } };
  method?: string;
  params?: any;
}

/**
 * A JSON-RPC client on one connection that tells a dropped connection from a slow answer: `call`
 * rejects as soon as the daemon closes the connection, and `lines` keeps every line it was sent
 * (answers without a known id and notifications included). Every line must be JSON.
 */
export class PipeClient {
  readonly socket: net.Socket;
  readonly lines: RpcAnswer[] = [];
  #pending = new Map<unknown, { resolve: (answer: RpcAnswer) => void; reject: (error: Error) => void }>();
  #buffer = "";
  #nextId = 1;
  #closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      for (let newline = this.#buffer.indexOf("\n"); newline !== -1; newline = this.#buffer.indexOf("\n")) {
        const answer = JSON.parse(this.#buffer.slice(0, newline)) as RpcAnswer;
        this.#buffer = this.#buffer.slice(newline + 1);
        this.lines.push(answer);
        const waiter = this.#pending.get(answer.id);
        if (waiter !== undefined && answer.method === undefined) {
          this.#pending.delete(answer.id);
          waiter.resolve(answer);
        }
      }
    });
    socket.on("error", () => {});
    this.#closed = new Promise((resolve) => socket.once("close", () => resolve()));
    void this.#closed.then(() => {
      for (const [id, waiter] of this.#pending) waiter.reject(new Error(`The daemon closed the connection before answering request ${JSON.stringify(id)}`));
      this.#pending.clear();
    });
  }

  static connect(path: string): Promise<PipeClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once("connect", () => resolve(new PipeClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Sends a request with a fresh id; resolves with its answer, rejects if the connection closes first. */
  call(method: string, params?: unknown): Promise<RpcAnswer> {
    const id = this.#nextId++;
    return this.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }), id);
  }

  /** Sends one line of text (a newline is added) and waits for the answer with `id`. */
  send(line: string, id: string | number): Promise<RpcAnswer> {
    const answer = new Promise<RpcAnswer>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    if (this.socket.closed) this.#pending.get(id)?.reject(new Error("The connection is closed"));
    else this.socket.write(`${line}\n`);
    return answer;
  }

  /** Resolves when the connection is closed, by either side. */
  closed(): Promise<void> {
    return this.#closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
